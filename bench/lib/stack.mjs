/**
 * What the accuracy and fault runs share: the cores, a recording upstream, the gateway bundle, gateway
 * instances with their own vars, the admin API, result files, and running a section on its own.
 * (run.mjs keeps its own start-up for the throughput table; moving it here is left for a quiet moment.)
 */
import { execFileSync } from "node:child_process";
import { existsSync, mkdtempSync, renameSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { benchVars, buildGateway, gatewayTarget } from "./gateway.mjs";
import { killAllSync, pin, rpc, spawnNode, stopAll, stopPid, waitMessage } from "./proc.mjs";
import { startWorkerd } from "./workerd.mjs";

const benchDir = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const twoCores = os.cpus().length >= 2;
export const SERVER_CORE = twoCores ? Number(process.env.BENCH_SERVER_CORE ?? 0) : undefined;
export const LOAD_CORE = twoCores ? Number(process.env.BENCH_LOAD_CORE ?? 1) : undefined;

/** The local upstream on the load core, recording arrivals (`env`: e.g. BENCH_JWKS, the key set it serves). `call(op, fields)` is its IPC. */
export async function startUpstream(env = {}) {
  const child = spawnNode(join(benchDir, "lib/upstream.mjs"), { core: LOAD_CORE, ipc: true, env, label: "upstream" });
  const { port } = await waitMessage(child, (m) => m.op === "ready", 15_000, "upstream");
  return { pid: child.pid, url: `http://127.0.0.1:${port}`, call: (op, fields = {}) => rpc(child, { op, ...fields }) };
}

/** Builds the gateway bundle into `dir` (unless `existing` is given); throws if it does not build. */
export async function gatewayBundle(configPath, dir, existing) {
  if (existing) return existing;
  const outDir = join(dir, "gateway-bundle");
  const build = await buildGateway(configPath, outDir);
  if (!build.ok) throw new Error(`gateway bundle did not build:\n${build.error}`);
  return outDir;
}

/**
 * One gateway instance under `workerd serve` on the server core: the bundle with wrangler.toml's bindings,
 * the bench's vars (upstreams -> the local one, a limit never reached) and `vars` on top. The entry is
 * lib/limiter-probe.mjs around the bundle, for `limiterAdmissions()` and `limiterFault(mode)`.
 */
export async function startGateway({ name, configPath, bundleDir, dir, storageDir, upstreamUrl, vars = {} }) {
  const target = await gatewayTarget(configPath, bundleDir, (declared) => ({ ...benchVars(declared, upstreamUrl), ...vars }));
  target.id = name;
  target.modules.unshift({ name: "limiter-probe.mjs", path: join(benchDir, "lib/limiter-probe.mjs") });
  const w = await startWorkerd(target, join(dir, name), { core: SERVER_CORE, storageDir: join(storageDir, name) });
  const adminHeaders = { authorization: `Bearer ${target.vars.ADMIN_SECRET}`, "content-type": "application/json" };
  async function admin(method, path, body) {
    const res = await fetch(`${w.url}/__gateway/admin${path}`, { method, headers: adminHeaders, body: body && JSON.stringify(body) });
    if (!res.ok) throw new Error(`${name}: admin ${method} ${path}: ${res.status} ${await res.text()}`);
    return res.json();
  }
  return {
    ...w,
    vars: target.vars,
    stop: () => stopPid(w.pid),
    /** A new Read/Write PSA key for `tenant`; its headers. */
    keyHeaders: async (tenant) => ({ "x-integration-key": (await admin("POST", `/tenants/${tenant}/keys`, { name: "bench", access: { psa: "write" } })).key }),
    setPolicies: (tenant, policies) => admin("PUT", `/tenants/${tenant}/rate-limit`, { policies }),
    /** The limiter's own clock (ms) at each admission since the last call. */
    limiterAdmissions: async () => (await fetch(`${w.url}/__bench/limiter-admissions`)).json(),
    limiterFault: async (mode) => {
      const res = await fetch(`${w.url}/__bench/limiter-fault?mode=${mode}`, { method: "POST" });
      if (!res.ok) throw new Error(`${name}: limiter fault ${mode}: ${res.status}`);
      await res.arrayBuffer();
    },
  };
}

/** Which source the bundle was built from: the commit, and how many files under src/ differ from it. */
export function sourceState() {
  const root = join(benchDir, "..");
  try {
    const rev = execFileSync("git", ["rev-parse", "--short", "HEAD"], { cwd: root }).toString().trim();
    const changed = execFileSync("git", ["status", "--porcelain", "src"], { cwd: root }).toString().trim().split("\n").filter(Boolean).length;
    return changed ? `${rev} + ${changed} uncommitted file(s) in src/` : rev;
  } catch {
    return "unknown (no git)";
  }
}

/** Writes bench/results/<name>.json and .md, each through a rename: never a half-written result. */
export function writeResult(name, data, md) {
  const dir = join(benchDir, "results");
  for (const [file, text] of [[`${name}.json`, JSON.stringify(data, null, 2) + "\n"], [`${name}.md`, md]]) {
    writeFileSync(join(dir, `${file}.tmp`), text);
    renameSync(join(dir, `${file}.tmp`), join(dir, file));
  }
}

/**
 * Runs one section (`run(opts)` of accuracy.mjs or faults.mjs) as its own program: `--quick`, `--keep`,
 * `--config`; the harness pinned to the load core; temp dirs; every child stopped by PID on exit, error or
 * Ctrl-C. Exit code 1 when a check failed.
 */
export async function standalone(run) {
  const { values: opt } = parseArgs({
    options: { quick: { type: "boolean", default: false }, keep: { type: "boolean", default: false }, config: { type: "string", default: join(benchDir, "..", "wrangler.toml") } },
  });
  if (LOAD_CORE !== undefined) pin(process.pid, LOAD_CORE);
  const tmp = mkdtempSync(join(os.tmpdir(), "gateway-bench-"));
  const storage = mkdtempSync(join(existsSync("/dev/shm") ? "/dev/shm" : os.tmpdir(), "gateway-bench-do-"));
  const cleanup = async () => {
    await stopAll();
    rmSync(storage, { recursive: true, force: true });
    if (opt.keep) console.log(`kept ${tmp}`);
    else rmSync(tmp, { recursive: true, force: true });
  };
  process.on("exit", killAllSync);
  for (const sig of ["SIGINT", "SIGTERM"]) process.on(sig, () => void cleanup().finally(() => process.exit(130)));
  try {
    const { passed } = await run({ quick: opt.quick, configPath: opt.config, tmp, storage });
    if (!passed) process.exitCode = 1;
  } catch (err) {
    console.error(err?.stack ?? err);
    process.exitCode = 1;
  } finally {
    await cleanup();
  }
}
