#!/usr/bin/env node
// `npm run check:config [-- --env NAME]`: each environment's configuration judged exactly as the Worker will
// judge it, before anything is deployed. wrangler's own resolver reads wrangler.toml (the vars and bindings an
// environment really gets: wrangler does not inherit them from the top level); config/products.json is read
// as written; src/config/check.ts (bundled here, the Worker's own validation) says what is wrong, as
// `field: reason`. Without --env: the top level (local development, with .dev.vars) and every [env.*].
// Exit 0: all valid; 1: a problem found; 2: usage.
// Options: --env NAME (one environment), --config PATH (another wrangler.toml; its products document is
// config/products.json beside it), --var NAME:VALUE (as `wrangler dev --var`, repeatable).

import { build } from "esbuild";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { parseArgs } from "node:util";

const ROOT = fileURLToPath(new URL("..", import.meta.url));

let checkModule = null;
/** src/config/check.ts, bundled for Node (once per process): the same code the Worker runs. */
function loadCheck() {
  checkModule ??= bundleCheck();
  return checkModule;
}

async function bundleCheck() {
  const dir = mkdtempSync(path.join(tmpdir(), "onestack-check-config-"));
  try {
    const file = path.join(dir, "check.mjs");
    await build({ entryPoints: [path.join(ROOT, "src", "config", "check.ts")], bundle: true, format: "esm", platform: "node", outfile: file, logLevel: "error" });
    return await import(pathToFileURL(file).href);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** A stand-in for each binding the environment declares: the check needs to know it is there and what it can do. */
function bindingStandIns(config) {
  const env = {};
  const names = (list, key) => (list ?? []).map((b) => b[key]);
  for (const name of names(config.services, "binding")) env[name] = { fetch() {} };
  for (const name of [
    ...names(config.kv_namespaces, "binding"),
    ...names(config.durable_objects?.bindings, "name"),
    ...names(config.ratelimits, "name"),
    ...names(config.analytics_engine_datasets, "binding"),
    ...names(config.r2_buckets, "binding"),
    ...names(config.d1_databases, "binding"),
  ]) {
    env[name] = {};
  }
  return env;
}

/** `NAME:VALUE` pairs (as `wrangler dev --var`) as an object; a pair without a colon is an error. */
export function parseVarArgs(pairs) {
  const vars = {};
  for (const pair of pairs) {
    const colon = pair.indexOf(":");
    if (colon < 1) throw new Error(`--var ${pair}: expected NAME:VALUE`);
    vars[pair.slice(0, colon)] = pair.slice(colon + 1);
  }
  return vars;
}

/**
 * Checks wrangler.toml's environments (all, or `only`: null for the top level, a name for [env.NAME]).
 * Resolves [{ label, name, problems: [{ field, reason, detail? }] }]; throws for an environment wrangler.toml
 * does not have. `extraVars` are set on top, as `wrangler dev --var` would.
 */
export async function checkEnvironments({ configPath = path.join(ROOT, "wrangler.toml"), only, extraVars = {} } = {}) {
  const wrangler = await import("wrangler");
  const { checkConfiguration } = await loadCheck();
  const raw = wrangler.experimental_readRawConfig({ config: configPath }).rawConfig;
  const envNames = Object.keys(raw.env ?? {});
  // hideWarnings: wrangler's warnings are judged here instead (its expected one about top-level vars that
  // environments do not inherit; unknown fields, below), and with them hidden it makes no update check.
  const read = (env) => wrangler.unstable_readConfig({ config: configPath, env: env ?? undefined }, { hideWarnings: true });
  const targets = only === undefined ? [null, ...envNames] : [only];
  for (const env of targets) {
    if (env !== null && !envNames.includes(env)) throw new Error(`no [env.${env}] in ${path.relative(process.cwd(), configPath) || configPath} (it has: ${envNames.join(", ") || "none"})`);
  }
  const deployed = Object.fromEntries(envNames.map((env) => [env, read(env)]));
  const environments = Object.fromEntries(envNames.map((env) => [env, deployed[env].name]));
  const rateLimitNamespaces = Object.fromEntries(envNames.map((env) => [env, Object.fromEntries((deployed[env].ratelimits ?? []).map((r) => [r.name, String(r.namespace_id)]))]));
  const productsText = readFileSync(path.join(path.dirname(configPath), "config", "products.json"), "utf8");
  return targets.map((env) => {
    const config = read(env);
    // Every field wrangler knows is in its resolved config (defaulted); a field of the section that is not, it ignored.
    const known = Object.keys(config);
    const section = env === null ? raw : raw.env[env];
    const unknownFields = Object.keys(section).filter((k) => k !== "env" && !known.includes(k)).map((k) => (env === null ? k : `env.${env}.${k}`));
    // The top level runs under `wrangler dev`, which adds .dev.vars; a deployment gets exactly its vars.
    const declared = env === null ? Object.fromEntries(Object.entries(wrangler.unstable_getVarsForDev(configPath, undefined, config.vars, undefined, true)).map(([k, v]) => [k, typeof v === "object" && v !== null && "value" in v ? v.value : v])) : config.vars;
    const vars = { ...declared, ...extraVars };
    const problems = checkConfiguration({
      productsText,
      env: { ...bindingStandIns(config), ...vars },
      varNames: Object.keys(vars),
      target: { env, name: config.name, environments, rateLimitNamespaces },
      wranglerFields: { unknown: unknownFields, known },
    });
    return { label: env === null ? "top level (development)" : `[env.${env}]`, name: config.name, problems };
  });
}

/** One line per problem: `field: reason (detail)`. */
export function formatProblem({ field, reason, detail }) {
  return `${field}: ${reason}${detail === undefined ? "" : ` (${detail})`}`;
}

if (import.meta.filename === process.argv[1]) {
  let args;
  try {
    args = parseArgs({ options: { env: { type: "string" }, config: { type: "string" }, var: { type: "string", multiple: true, default: [] } } }).values;
  } catch (err) {
    console.error(`check:config: ${err.message}\nusage: npm run check:config [-- --env NAME] [--config wrangler.toml] [--var NAME:VALUE]`);
    process.exit(2);
  }
  let results;
  try {
    results = await checkEnvironments({ configPath: args.config === undefined ? undefined : path.resolve(args.config), only: args.env, extraVars: parseVarArgs(args.var) });
  } catch (err) {
    console.error(`check:config: ${err.message}`);
    process.exit(2);
  }
  for (const { label, name, problems } of results) {
    if (problems.length === 0) console.log(`check:config: ${label} (${name}): valid`);
    for (const problem of problems) console.error(`check:config: ${label} (${name}): ${formatProblem(problem)}`);
  }
  if (results.some((r) => r.problems.length > 0)) process.exitCode = 1;
}
