#!/usr/bin/env node
// `npm run dev`: starts the demo product backends (dev/backends), then `wrangler dev` with the gateway's
// upstreams pointed at them. Works offline. Env: PORT (gateway, 8787), PSA_PORT (8701), RMM_PORT (8702);
// a backend port of 0 picks a free one. `--var NAME:VALUE` (repeatable) sets a var as `wrangler dev --var`
// does. Ctrl-C, SIGTERM, or either child exiting stops everything.
// First it checks the configuration (scripts/check-config.mjs: wrangler.toml's top level, .dev.vars, the
// --vars, config/products.json) and refuses to start, naming each field and why, when it is invalid.
// Once wrangler is ready it prints a banner ending in one machine-readable line:
//   gateway ready <url> psa=<port> rmm=<port>

import { spawn } from "node:child_process";
import path from "node:path";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { checkEnvironments, formatProblem, parseVarArgs } from "./check-config.mjs";
import { seedDemoKeys } from "./seed-dev.mjs";

const ROOT = fileURLToPath(new URL("..", import.meta.url));
const BIN = path.join(ROOT, "node_modules", ".bin");
const BACKENDS = path.join(ROOT, "dev", "backends", "start.mjs");
const WRANGLER = path.join(BIN, "wrangler");
const BACKENDS_READY_BOUND_MS = 15_000;
const STOP_GRACE_MS = 5_000;
const PARENT_CHECK_MS = 1_000;

function portFromEnv(name, fallback) {
  const raw = process.env[name] ?? String(fallback);
  const port = Number(raw);
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    console.error(`dev: ${name} must be a port number, got ${JSON.stringify(raw)}`);
    process.exit(2);
  }
  return port;
}

// wrangler refuses Node < 22; say how to get the pinned one rather than let it fail mid-start.
if (Number(process.versions.node.split(".")[0]) < 22) {
  console.error(`dev: needs Node 22+ (this is ${process.version}); run \`npm run dev\` or ${BIN}/node scripts/dev.mjs`);
  process.exit(1);
}

const gatewayPort = portFromEnv("PORT", 8787);
const psaPort = portFromEnv("PSA_PORT", 8701);
const rmmPort = portFromEnv("RMM_PORT", 8702);
let extraVars;
try {
  extraVars = parseVarArgs(parseArgs({ options: { var: { type: "string", multiple: true, default: [] } } }).values.var);
} catch (err) {
  console.error(`dev: ${err.message}\nusage: npm run dev [-- --var NAME:VALUE ...]`);
  process.exit(2);
}

const groups = new Set(); // process-group ids of everything we started (each child leads its own group)
const running = new Set(); // children that have not exited yet

/** Forwards each line of `stream` to `out` with a `[name]` prefix, and to `onLine` if given. */
function forwardLines(stream, out, name, onLine) {
  createInterface({ input: stream }).on("line", (line) => {
    out.write(`[${name}] ${line}\n`);
    onLine?.(line);
  });
}

/**
 * Spawns `node <args>` in its own process group (detached), so stopping it also reaches its descendants —
 * wrangler runs workerd and esbuild under it. The pinned node's bin dir leads PATH for anything it spawns.
 */
function startChild(name, args, { stdin = "ignore", onLine } = {}) {
  const child = spawn(process.execPath, args, {
    cwd: ROOT,
    detached: true,
    stdio: [stdin, "pipe", "pipe"],
    env: { ...process.env, PATH: `${BIN}${path.delimiter}${process.env.PATH ?? ""}`, WRANGLER_SEND_METRICS: "false" },
  });
  groups.add(child.pid);
  running.add(child);
  child.exited = new Promise((resolve) => {
    child.once("exit", (code, signal) => {
      running.delete(child);
      resolve({ code, signal });
    });
  });
  forwardLines(child.stdout, process.stdout, name, onLine);
  forwardLines(child.stderr, process.stderr, name);
  child.exited.then(({ code, signal }) => {
    if (stopping) return; // we asked it to stop
    console.error(`dev: ${name} exited (${signal ?? `code ${code}`}); stopping the rest`);
    void stopAll(code === 0 ? 0 : 1);
  });
  return child;
}

function signal(pid, name) {
  try {
    process.kill(pid, name);
  } catch {
    // ESRCH: already gone.
  }
}

let stopping = null;
/**
 * Stops everything and exits: SIGTERM to each child (wrangler's launcher passes it on to its CLI), up to
 * STOP_GRACE_MS for them to exit, then SIGKILL to each child's whole process group, which sweeps
 * descendants (workerd, esbuild) that outlived their parent. Negative pid = the group we created.
 */
function stopAll(exitCode) {
  stopping ??= (async () => {
    for (const child of running) signal(child.pid, "SIGTERM");
    let timer;
    const grace = new Promise((resolve) => (timer = setTimeout(resolve, STOP_GRACE_MS)));
    await Promise.race([Promise.all([...running].map((c) => c.exited)), grace]);
    clearTimeout(timer);
    for (const pgid of groups) signal(-pgid, "SIGKILL");
    process.exit(exitCode);
  })();
  return stopping;
}

for (const name of ["SIGINT", "SIGTERM", "SIGHUP"]) process.on(name, () => void stopAll(0));

// `npm run dev` runs us under `sh -c`, and a SIGTERM to npm kills npm and sh without reaching us. Being
// re-parented is how we notice, so the stack never outlives whoever started it.
const parentPid = process.ppid;
setInterval(() => process.ppid !== parentPid && void stopAll(0), PARENT_CHECK_MS).unref();

function waitForBackends() {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error("backends not ready in time")), BACKENDS_READY_BOUND_MS);
    // stdin piped: if this script dies without cleaning up, the pipe closes and the backends exit.
    startChild("backends", [BACKENDS, "--psa-port", String(psaPort), "--rmm-port", String(rmmPort), "--exit-on-stdin-end"], {
      stdin: "pipe",
      onLine(line) {
        const ready = /^backends ready psa=(\d+) rmm=(\d+)$/.exec(line);
        if (!ready) return;
        clearTimeout(timer);
        resolve({ psa: Number(ready[1]), rmm: Number(ready[2]) });
      },
    });
  });
}

function banner(url, ports) {
  const psa = `http://127.0.0.1:${ports.psa}`;
  const rmm = `http://127.0.0.1:${ports.rmm}`;
  process.stdout.write(
    [
      "",
      "  One Stack Edge Gateway — local development",
      `  gateway   ${url}`,
      `  psa       ${psa}   (demo backend; direct calls skip the gateway)`,
      `  rmm       ${rmm}`,
      `  faults    curl -i ${url}/psa/tickets -H 'X-Demo-Fault: html-502'   (see dev/backends/faults.mjs)`,
      `  recorded  curl '${psa}/__recorded?requestId=<X-Request-Id>'`,
      "",
      `gateway ready ${url} psa=${ports.psa} rmm=${ports.rmm}`,
      "",
    ].join("\n"),
  );
}

/** Refuses to start (exit 1) with an invalid configuration, printing each field and why. */
async function checkConfig() {
  // The upstreams as they will be: the demo backends (their ports are known once they listen; any port checks the same).
  const upstreams = { UPSTREAM_PSA: `http://127.0.0.1:${psaPort || 8701}`, UPSTREAM_RMM: `http://127.0.0.1:${rmmPort || 8702}` };
  const [{ problems }] = await checkEnvironments({ only: null, extraVars: { ...upstreams, ...extraVars } });
  if (problems.length === 0) return;
  for (const problem of problems) console.error(`dev: configuration invalid: ${formatProblem(problem)}`);
  console.error("dev: not started; fix wrangler.toml (top level), .dev.vars or config/products.json (docs/configuration.md)");
  process.exit(1);
}

async function main() {
  await checkConfig();
  // The demo tenant's documented keys (README, "Demo credentials") go into local KV before the gateway starts.
  seedDemoKeys();
  const ports = await waitForBackends();
  let announced = false;
  startChild(
    "wrangler",
    [
      WRANGLER,
      "dev",
      "--ip", "127.0.0.1",
      "--port", String(gatewayPort),
      "--show-interactive-dev-session=false",
      "--var", `UPSTREAM_PSA:http://127.0.0.1:${ports.psa}`,
      "--var", `UPSTREAM_RMM:http://127.0.0.1:${ports.rmm}`,
      ...Object.entries(extraVars).flatMap(([name, value]) => ["--var", `${name}:${value}`]),
    ],
    {
      onLine(line) {
        // eslint-disable-next-line no-control-regex -- wrangler may colour its output
        const ready = /Ready on (https?:\/\/\S+)/.exec(line.replace(/\x1b\[[0-9;]*m/g, ""));
        if (ready && !announced) {
          announced = true; // wrangler repeats the line after each reload; the banner once is enough
          banner(ready[1], ports);
        }
      },
    },
  );
}

main().catch((err) => {
  console.error(`dev: ${err.message}`);
  stopAll(1);
});
