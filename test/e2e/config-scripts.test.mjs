// The configuration scripts as an operator runs them: `npm run check:config`, `npm run deploy` (to the point
// of `wrangler deploy --dry-run`, no account needed) and `npm run dev`, against the repository's wrangler.toml
// and against copies of it with one mistake each. Most mistakes are judged in this process by the function
// the script runs (checkEnvironments: wrangler's resolver, the Worker's validation); the exit codes and the
// printed lines are checked by running the scripts.
import { execFile } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, describe, expect, it } from "vitest";
import { checkEnvironments, formatProblem } from "../../scripts/check-config.mjs";

const ROOT = fileURLToPath(new URL("../..", import.meta.url));
const NODE = path.join(ROOT, "node_modules", ".bin", "node");
const WRANGLER_TOML = readFileSync(path.join(ROOT, "wrangler.toml"), "utf8");
const PRODUCTS = readFileSync(path.join(ROOT, "config", "products.json"), "utf8");
const dirs = [];
afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

/** Runs `node scripts/<script> ...args`; resolves { code, stdout, stderr } (bounded: 120 s). */
function run(script, args, env = {}) {
  return new Promise((resolve) => {
    execFile(NODE, [path.join(ROOT, "scripts", script), ...args], { cwd: ROOT, timeout: 120_000, env: { ...process.env, WRANGLER_SEND_METRICS: "false", NO_COLOR: "1", ...env } }, (err, stdout, stderr) =>
      resolve({ code: err ? (err.code ?? 1) : 0, stdout, stderr }),
    );
  });
}

/** A copy of the repository's configuration with `edit` applied to wrangler.toml and products.json; its wrangler.toml path. */
function fixture({ toml = (t) => t, products = (p) => p } = {}) {
  const dir = mkdtempSync(path.join(tmpdir(), "onestack-config-"));
  dirs.push(dir);
  mkdirSync(path.join(dir, "config"));
  const [editedToml, editedProducts] = [toml(WRANGLER_TOML), products(PRODUCTS)];
  expect(editedToml !== WRANGLER_TOML || editedProducts !== PRODUCTS, "the fixture's edit applies").toBe(true);
  writeFileSync(path.join(dir, "config", "products.json"), editedProducts);
  writeFileSync(path.join(dir, "wrangler.toml"), editedToml);
  return path.join(dir, "wrangler.toml");
}

/** The problems checkEnvironments finds in `env` (null: the top level) of the fixture, as the script prints them. */
async function problems(configPath, env) {
  const [result] = await checkEnvironments({ configPath, only: env });
  return result.problems.map(formatProblem);
}

/** Adds `line` to the vars of [env.<env>]. */
const addVar = (env, line) => (t) => t.replace(`[env.${env}.vars]\n`, `[env.${env}.vars]\n${line}\n`);

describe("npm run check:config", () => {
  it("finds every environment of the repository's wrangler.toml valid, and says which it checked", async () => {
    const { code, stdout, stderr } = await run("check-config.mjs", []);
    expect(stderr).toBe("");
    expect(code).toBe(0);
    expect(stdout).toMatch(/top level \(development\) \(onestack-gateway-dev\): valid/);
    expect(stdout).toMatch(/\[env\.staging\] \(onestack-gateway-staging\): valid/);
    expect(stdout).toMatch(/\[env\.production\] \(onestack-gateway\): valid/);
  });

  it('refuses RATE_LIMIT_FAIL_MODE = "close" in [env.production.vars], naming environment, field and reason; --env staging still passes', async () => {
    const config = fixture({ toml: (t) => t.replace(/(\[env\.production\.vars\][^[]*?)RATE_LIMIT_FAIL_MODE = "open"/, '$1RATE_LIMIT_FAIL_MODE = "close"') });
    const all = await run("check-config.mjs", ["--config", config]);
    expect(all.code).toBe(1);
    expect(all.stderr).toContain('[env.production] (onestack-gateway): RATE_LIMIT_FAIL_MODE: must be "open", "closed" or "reads-open"');
    expect(all.stdout).toContain("[env.staging] (onestack-gateway-staging): valid");
    const staging = await run("check-config.mjs", ["--config", config, "--env", "staging"]);
    expect(staging.code).toBe(0);
    expect(staging.stdout).not.toContain("production");
  });

  it("refuses a misspelt var in an environment, with the var it probably meant", async () => {
    expect(await problems(fixture({ toml: addVar("staging", 'RATE_LIMT_DEFAULT = "10/1m"') }), "staging")).toEqual([
      "RATE_LIMT_DEFAULT: not a var the gateway reads; did you mean RATE_LIMIT_DEFAULT?",
    ]);
  });

  it("judges the top level with .dev.vars, as wrangler dev runs it", async () => {
    const config = fixture({ toml: (t) => t.replace('RATE_LIMIT_DEFAULT = "100/1m"\n', "") });
    expect(await problems(config, null)).toEqual([]);
    writeFileSync(path.join(path.dirname(config), ".dev.vars"), 'RATE_LIMT_DEFAULT="5/1m"\n');
    expect(await problems(config, null)).toEqual(["RATE_LIMT_DEFAULT: not a var the gateway reads; did you mean RATE_LIMIT_DEFAULT?"]);
  });

  it("refuses a product written twice in config/products.json", async () => {
    const config = fixture({ products: (p) => p.replace(/\n}\s*$/, ',\n  "psa": { "basePath": "/psa2", "upstream": "http://x", "routes": [{ "method": "GET", "path": "/a" }] }\n}\n') });
    expect(await problems(config, "production")).toEqual(["products.psa: appears twice in config/products.json (the last would silently replace the first)"]);
  });

  it("refuses the admin secret as a plain var of a deployed environment", async () => {
    expect(await problems(fixture({ toml: addVar("production", 'ADMIN_SECRET = "a-long-enough-secret-value"') }), "production")).toEqual([
      "ADMIN_SECRET: a secret, never a plain var in a deployed environment: wrangler secret put ADMIN_SECRET --env production",
    ]);
  });

  it("refuses a top level that deploys under the production Worker's name", async () => {
    const config = fixture({ toml: (t) => t.replace(/^name = ".*"$/m, 'name = "onestack-gateway"') });
    expect(await problems(config, null)).toEqual(["name: the top-level (development) Worker must have a name of its own; [env.production] deploys as this name"]);
  });

  it("refuses a misspelt wrangler.toml field, which wrangler ignores, and the binding it then lacks", async () => {
    const config = fixture({ toml: (t) => t.replace(/\n\[env\.staging\]\n([\s\S]*?)\nratelimits = \[/, "\n[env.staging]\n$1\nratelimit = [") });
    expect(await problems(config, "staging")).toEqual([
      "env.staging.ratelimit: not a wrangler configuration field (wrangler ignores it); did you mean ratelimits?",
      "ADMIN_AUTH_LIMITER: a binding the gateway needs is not declared in this environment (wrangler.toml does not inherit bindings)",
      "AUTH_FAILURE_LIMITER: a binding the gateway needs is not declared in this environment (wrangler.toml does not inherit bindings)",
    ]);
  });

  it("answers an environment wrangler.toml does not have with usage (exit 2)", async () => {
    const { code, stderr } = await run("check-config.mjs", ["--env", "prod"]);
    expect(code).toBe(2);
    expect(stderr).toContain("no [env.prod] in wrangler.toml (it has: staging, production)");
  });
});

describe("npm run dev with an invalid configuration", () => {
  it("refuses to start, printing each field and reason, before any backend or wrangler starts", async () => {
    const { code, stdout, stderr } = await run("dev.mjs", ["--var", "RATE_LIMIT_FAIL_MODE:close", "--var", "RATE_LIMT_DEFAULT:1/1m"], { PORT: "0", PSA_PORT: "0", RMM_PORT: "0" });
    expect(code).toBe(1);
    expect(stderr).toContain('dev: configuration invalid: RATE_LIMIT_FAIL_MODE: must be "open", "closed" or "reads-open"');
    expect(stderr).toContain("dev: configuration invalid: RATE_LIMT_DEFAULT: not a var the gateway reads; did you mean RATE_LIMIT_DEFAULT?");
    expect(stdout).not.toContain("gateway ready");
    expect(stdout).not.toContain("[backends]");
  });
});

describe("npm run deploy", () => {
  it("refuses to deploy without naming an environment", async () => {
    const { code, stderr } = await run("deploy.mjs", ["--dry-run"]);
    expect(code).toBe(2);
    expect(stderr).toContain("deploy: name the environment to deploy");
  });

  it("checks the configuration first and deploys nothing when it is invalid", async () => {
    const config = fixture({ toml: addVar("production", 'JWKS = \'{"keys":[{"kty":"EC"}]}\'') });
    const { code, stdout, stderr } = await run("deploy.mjs", ["--env", "production", "--config", config, "--dry-run"]);
    expect(code).toBe(1);
    expect(stderr).toContain("JWKS: a static key set (the development signing key) must not be deployed; use JWKS_URL");
    expect(stderr).toContain("deploy: not deployed");
    expect(stdout).not.toContain("wrangler deploy");
  });

  it("checks a --var given for the deploy too", async () => {
    const { code, stderr } = await run("deploy.mjs", ["--env", "staging", "--dry-run", "--var", "ADMIN_SECRET:dev-admin-secret-change-me"]);
    expect(code).toBe(1);
    expect(stderr).toContain("ADMIN_SECRET: a secret, never a plain var in a deployed environment");
  });

  it("runs wrangler deploy for the named environment once its configuration is valid (dry run)", async () => {
    const outdir = mkdtempSync(path.join(tmpdir(), "onestack-deploy-"));
    dirs.push(outdir);
    const { code, stdout } = await run("deploy.mjs", ["--env", "staging", "--dry-run", "--outdir", outdir]);
    expect(code).toBe(0);
    expect(stdout).toContain("deploy: [env.staging] (onestack-gateway-staging): configuration valid; wrangler deploy --env staging --dry-run");
    expect(readFileSync(path.join(outdir, "index.js"), "utf8").length).toBeGreaterThan(0);
  });

  it("builds a production bundle that names no function at run time (keep_names off: no Object.defineProperty per closure)", async () => {
    const outdir = mkdtempSync(path.join(tmpdir(), "onestack-deploy-"));
    dirs.push(outdir);
    const { code } = await run("deploy.mjs", ["--env", "production", "--dry-run", "--outdir", outdir]);
    expect(code).toBe(0);
    const bundle = readFileSync(path.join(outdir, "index.js"), "utf8");
    // esbuild's keepNames emits `__name(fn, "name")` around every function, run each time a closure is made.
    expect((bundle.match(/\b__name\(/g) ?? []).length, "__name( calls in the bundle").toBe(0);
    expect(bundle).toContain("GatewayError");
  });
});
