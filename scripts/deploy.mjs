#!/usr/bin/env node
// `npm run deploy -- --env NAME [wrangler deploy options]`: checks that environment's configuration
// (scripts/check-config.mjs, the Worker's own validation) and only then runs `wrangler deploy --env NAME`
// with the other options passed through (`--dry-run`, `--var BUILD_VERSION:…`). A deploy always names an
// environment: the top level of wrangler.toml is local development and is never deployed from here.
// Exit: wrangler's, or 1 when the configuration is invalid, 2 on usage.

import { spawn } from "node:child_process";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { checkEnvironments, formatProblem, parseVarArgs } from "./check-config.mjs";

const ROOT = fileURLToPath(new URL("..", import.meta.url));
const USAGE = "usage: npm run deploy -- --env <environment> [wrangler deploy options]   (environments: [env.*] in wrangler.toml)";

/** The value of `--name VALUE` or `--name=VALUE` in args, or undefined; values of a repeated option: all of them. */
function optionValues(args, name) {
  const values = [];
  args.forEach((arg, i) => {
    if (arg === name && i + 1 < args.length) values.push(args[i + 1]);
    else if (arg.startsWith(`${name}=`)) values.push(arg.slice(name.length + 1));
  });
  return values;
}

const args = process.argv.slice(2);
const envs = [...optionValues(args, "--env"), ...optionValues(args, "-e")];
if (envs.length !== 1 || envs[0] === "") {
  console.error(`deploy: ${envs.length === 0 ? "name the environment to deploy (the top level is local development only)" : "name exactly one environment"}\n${USAGE}`);
  process.exit(2);
}
const [env] = envs;
const configPath = path.resolve(optionValues(args, "--config")[0] ?? optionValues(args, "-c")[0] ?? path.join(ROOT, "wrangler.toml"));

let results;
try {
  results = await checkEnvironments({ configPath, only: env, extraVars: parseVarArgs(optionValues(args, "--var")) });
} catch (err) {
  console.error(`deploy: ${err.message}\n${USAGE}`);
  process.exit(2);
}
const [{ label, name, problems }] = results;
if (problems.length > 0) {
  for (const problem of problems) console.error(`deploy: ${label} (${name}): ${formatProblem(problem)}`);
  console.error(`deploy: not deployed: ${label}'s configuration is invalid (npm run check:config -- --env ${env})`);
  process.exit(1);
}
console.log(`deploy: ${label} (${name}): configuration valid; wrangler deploy ${args.join(" ")}`);
const child = spawn(process.execPath, [path.join(ROOT, "node_modules", "wrangler", "bin", "wrangler.js"), "deploy", ...args], { cwd: ROOT, stdio: "inherit" });
for (const signal of ["SIGINT", "SIGTERM"]) process.on(signal, () => child.kill(signal));
child.on("exit", (code, signal) => process.exit(code ?? (signal ? 1 : 0)));
