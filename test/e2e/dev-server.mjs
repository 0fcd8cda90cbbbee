// TEST ONLY — never deployed. Runs the whole local stack the way `npm run dev` does (scripts/dev.mjs: the
// demo backends plus `wrangler dev`) on free ports, for end-to-end tests that talk to it over real HTTP.

import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { createServer } from "node:net";
import path from "node:path";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";

const ROOT = fileURLToPath(new URL("../..", import.meta.url));
const DEV_SCRIPT = path.join(ROOT, "scripts", "dev.mjs");
// wrangler needs Node 22; the project pins it as a package, whichever node runs the tests.
const PINNED_NODE = path.join(ROOT, "node_modules", ".bin", "node");
const READY_BOUND_MS = 60_000;
const STOP_BOUND_MS = 10_000; // dev.mjs escalates to SIGKILL for its own children after 5 s
const KEPT_LINES = 300;

/** A port that was free a moment ago (the kernel picks it); wrangler needs a concrete number. */
function freePort() {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

/**
 * Starts scripts/dev.mjs with the gateway on a free port and both backends on port 0 (they report the
 * ports they got), and resolves once the gateway is ready — dev.mjs prints `gateway ready <url> ...` right
 * after wrangler's "Ready on" line. Rejects, with the stack's output, if that takes over 60 s or the stack
 * exits first. `stop()` ends it by PID and waits for it to exit; `output()` returns its recent lines.
 * `vars` are passed as `--var NAME:VALUE` (as `npm run dev -- --var` does), e.g. a short product timeout.
 * Set E2E_VERBOSE=1 to echo the stack's output to stderr.
 */
export async function startDevServer({ env = {}, vars = {} } = {}) {
  const port = await freePort();
  const varArgs = Object.entries(vars).flatMap(([name, value]) => ["--var", `${name}:${value}`]);
  const child = spawn(existsSync(PINNED_NODE) ? PINNED_NODE : process.execPath, [DEV_SCRIPT, ...varArgs], {
    cwd: ROOT,
    stdio: ["ignore", "pipe", "pipe"],
    env: { ...process.env, ...env, PORT: String(port), PSA_PORT: "0", RMM_PORT: "0", WRANGLER_SEND_METRICS: "false" },
  });
  const lines = [];
  const exited = new Promise((resolve) => child.once("exit", (code, signal) => resolve({ code, signal })));
  let hasExited = false;
  exited.then(() => (hasExited = true));
  // If the test process goes away without stop(), dev.mjs still gets to stop its own children.
  const onExit = () => hasExited || child.kill("SIGTERM");
  process.once("exit", onExit);

  const ready = new Promise((resolve) => {
    for (const stream of [child.stdout, child.stderr]) {
      createInterface({ input: stream }).on("line", (line) => {
        lines.push(line);
        if (lines.length > KEPT_LINES) lines.shift();
        if (process.env.E2E_VERBOSE) process.stderr.write(`[dev-server] ${line}\n`);
        const found = /^gateway ready (\S+) psa=(\d+) rmm=(\d+)$/.exec(line);
        if (found) resolve({ baseUrl: found[1], psaPort: Number(found[2]), rmmPort: Number(found[3]) });
      });
    }
  });

  async function stop() {
    process.off("exit", onExit);
    if (hasExited) return;
    child.kill("SIGTERM");
    let timer;
    const late = new Promise((resolve) => (timer = setTimeout(() => resolve("late"), STOP_BOUND_MS)));
    if ((await Promise.race([exited, late])) === "late") {
      child.kill("SIGKILL");
      await exited;
    }
    clearTimeout(timer);
  }

  const output = () => lines.join("\n");
  let timer;
  const outcome = await Promise.race([
    ready,
    exited.then(({ code, signal }) => new Error(`dev stack exited (${signal ?? `code ${code}`}) before ready`)),
    new Promise((resolve) => (timer = setTimeout(() => resolve(new Error("dev stack not ready within 60 s")), READY_BOUND_MS))),
  ]);
  clearTimeout(timer);
  if (outcome instanceof Error) {
    await stop();
    outcome.message += `\n--- dev stack output ---\n${output()}`;
    throw outcome;
  }
  return { ...outcome, stop, output };
}
