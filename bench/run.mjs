/**
 * `npm run bench`: the gateway and two reference Workers under load, compared in the same run.
 *
 *   node bench/run.mjs [--quick] [--only <regex>] [--refs-only] [--duration <s>] [--keep]
 *                      [--config wrangler.toml] [--provision bench/provision.mjs]
 *                      [--accuracy-only | --faults-only | --edge-only | --no-sections]
 *
 * After the table, three pass/fail sections with their own processes: limiter accuracy (bench/accuracy.mjs),
 * load with faults (bench/faults.mjs) and the edge simulation (bench/edge.mjs). --only, --refs-only and
 * --profile skip them (focused throughput work); the exit code is 1 when one of their checks failed.
 *
 * Layout (2 cores): each Worker in its own `workerd serve` process (bench/lib/workerd.mjs), pinned to the
 * server core; the load generator (autocannon, one process per run) and the local upstream on the load core.
 * Everything listens on 127.0.0.1. Every child is stopped by PID at the end, on errors and on Ctrl-C.
 * Writes bench/results/latest.json and latest.md and prints the table.
 */
import { execFileSync, spawnSync } from "node:child_process";
import { closeSync, existsSync, fstatSync, mkdtempSync, openSync, readFileSync, readSync, renameSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import { dirname, join, resolve } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { fileURLToPath, pathToFileURL } from "node:url";
import { parseArgs } from "node:util";
import { benchVars, buildGateway, gatewayTarget } from "./lib/gateway.mjs";
import { benchKeys, runLoad as runLoadOn, withCleanup } from "./lib/harness.mjs";
import { coreSeconds, cpuSeconds, pin, rpc, rssMiB, spawnNode, stopAll, waitMessage } from "./lib/proc.mjs";
import { addRatios, markdown } from "./lib/report.mjs";
import { kvPut, startWorkerd } from "./lib/workerd.mjs";
import { connect as connectProfiler, selfTimeSummary } from "./lib/profiler.mjs";
import { scenarios, shapes, TENANTS } from "./scenarios.mjs";

const benchDir = dirname(fileURLToPath(import.meta.url));

// `--ablate`: the stage cost table (bench/ablate.mjs) instead of this run; the other arguments go to it.
if (process.argv.includes("--ablate")) {
  const args = process.argv.slice(2).filter((a) => a !== "--ablate");
  const { status } = spawnSync(process.execPath, [join(benchDir, "ablate.mjs"), ...args], { stdio: "inherit" });
  process.exit(status ?? 1);
}
const root = resolve(benchDir, "..");
const { values: opt } = parseArgs({
  options: {
    quick: { type: "boolean", default: false },
    only: { type: "string" },
    "refs-only": { type: "boolean", default: false },
    config: { type: "string", default: join(root, "wrangler.toml") },
    duration: { type: "string" },
    keep: { type: "boolean", default: false }, // keep the temp dir (configs, bundles, workerd logs)
    provision: { type: "string", default: join(benchDir, "provision.mjs") }, // another provisioning module
    profile: { type: "string" }, // regex: CPU-profile these gateway scenarios (bench/lib/profiler.mjs)
    "accuracy-only": { type: "boolean", default: false }, // only the limiter accuracy section, no table
    "faults-only": { type: "boolean", default: false }, // only the fault section, no table
    "edge-only": { type: "boolean", default: false }, // only the edge section, no table
    "no-sections": { type: "boolean", default: false }, // only the table
  },
});

const twoCores = os.cpus().length >= 2;
const SERVER_CORE = twoCores ? Number(process.env.BENCH_SERVER_CORE ?? 0) : undefined;
const LOAD_CORE = twoCores ? Number(process.env.BENCH_LOAD_CORE ?? 1) : undefined;
const DURATION = Number(opt.duration ?? (opt.quick ? 2 : 8)); // autocannon stops on its next 1 s tick: up to +1 s
const WARMUP = opt.quick ? 1 : 2;
const REQUESTS_PER_SECOND_CAP = 50_000; // far above what 2 cores serve: a bound, not a target
const runTag = `bench-${Date.now().toString(36)}`;

const tmp = mkdtempSync(join(os.tmpdir(), "gateway-bench-"));
// Durable Object SQLite files on tmpfs: real SQLite work, without this VM's disk flush latency (which is not
// what production DO storage costs, and made 1,000 fresh tenants ~10x slower on ext4).
const storageRoot = process.env.BENCH_DO_STORAGE ?? (existsSync("/dev/shm") ? "/dev/shm" : os.tmpdir());
const storage = mkdtempSync(join(storageRoot, "gateway-bench-do-"));
let upstream;
const targets = {}; // id -> { url, pid, kv, log }
const targetStatus = {}; // id -> why it is not running
let gatewayFinalVars = {}; // the vars the gateway runs with (handed to provision, e.g. for ADMIN_SECRET)

/** The scenarios of this run, grouped by shape (references first) so compared runs are measured close together. */
function selectScenarios() {
  const only = opt.only ? new RegExp(opt.only) : null;
  const wanted = scenarios.filter(
    (s) => (!opt.quick || s.quick) && (!only || only.test(s.name)) && !(opt["refs-only"] && s.target === "gateway"),
  );
  const shapesUsed = new Set(wanted.map((s) => s.compareTo));
  const refs = scenarios.filter((s) => s.target !== "gateway" && shapesUsed.has(s.compareTo));
  const all = [...new Set([...refs, ...wanted])];
  const order = Object.keys(shapes);
  const rank = (s) => order.indexOf(s.compareTo) * 10 + (s.target === "ref-pass" ? 0 : s.target === "ref-do" ? 1 : 2);
  return all.sort((a, b) => rank(a) - rank(b));
}

async function startTargets(ids, upstreamUrl, jwksUrl, gatewayVars) {
  // The references run with the gateway's compatibility settings: same runtime behaviour, same socket path.
  const { workerOptions: fromToml } = (await import("wrangler")).unstable_getMiniflareWorkerOptions(opt.config);
  const runtime = { compatibilityDate: fromToml.compatibilityDate, compatibilityFlags: fromToml.compatibilityFlags ?? [] };
  const refs = {
    "ref-pass": { modules: [{ path: join(benchDir, "reference/pass.mjs") }], vars: { UPSTREAM: upstreamUrl } },
    "ref-do": {
      modules: [{ path: join(benchDir, "reference/pass-do.mjs") }],
      vars: { UPSTREAM: upstreamUrl },
      durableObjects: [{ binding: "COUNTER", className: "TenantCounter", sqlite: true }],
    },
  };
  for (const [i, [id, t]] of Object.entries(refs).entries()) {
    if (!ids.has(id)) continue;
    const inspectorPort = opt.profile ? 9330 + i : undefined;
    targets[id] = await startWorkerd({ id, ...runtime, ...t }, join(tmp, id), { core: SERVER_CORE, storageDir: join(storage, id), inspectorPort });
    if (inspectorPort !== undefined) targets[id].profiler = await connectProfiler(inspectorPort);
  }

  if (!ids.has("gateway")) return;
  console.log(`building the gateway (wrangler deploy --dry-run, ${opt.config})`);
  const outDir = join(tmp, "gateway-bundle");
  const build = await buildGateway(opt.config, outDir);
  if (!build.ok) {
    targetStatus.gateway = "gateway bundle did not build";
    console.error(`${targetStatus.gateway}; gateway scenarios skipped.\n${build.error}`);
    return;
  }
  try {
    const bench = { upstreamUrl, jwksUrl };
    const target = await gatewayTarget(opt.config, outDir, (vars) => ({ ...benchVars(vars, upstreamUrl), ...gatewayVars({ ...bench, vars }) }));
    gatewayFinalVars = target.vars;
    const inspectorPort = opt.profile ? 9329 : undefined;
    targets.gateway = await startWorkerd(target, join(tmp, "gateway"), { core: SERVER_CORE, storageDir: join(storage, "gateway"), inspectorPort });
    if (inspectorPort !== undefined) targets.gateway.profiler = await connectProfiler(inspectorPort);
  } catch (err) {
    targetStatus.gateway = "gateway did not start";
    console.error(`${targetStatus.gateway}; gateway scenarios skipped.\n${err.message}`);
  }
}

/** Saves a scenario's CPU profile next to the results and prints where its self time went. */
function writeProfile(name, profile) {
  const file = join(benchDir, "results", `${name.replace(/[^a-z0-9-]+/gi, "_")}.cpuprofile`);
  writeFileSync(file, JSON.stringify(profile));
  console.log(`profile of ${name} -> ${file}`);
  for (const { fn, share } of selfTimeSummary(profile)) console.log(`  ${(share * 100).toFixed(1).padStart(5)}%  ${fn}`);
}

/** One autocannon process on the load core. */
const runLoad = (job, onStart) => runLoadOn(job, LOAD_CORE, onStart);

async function runScenario(s, ctx, ctxFile, index) {
  const base = { name: s.name, target: s.target, connections: s.connections, compareTo: s.compareTo };
  if (!targets[s.target]) return { ...base, skipped: targetStatus[s.target] ?? "target not started" };
  if (s.needs && ctx[s.needs] === undefined) return { ...base, skipped: `needs ctx.${s.needs} from provision()` };
  const { url, pid } = targets[s.target];
  const expect = { status: 200, upstream: true, ...s.expect };
  const duration = opt.quick ? Math.min(s.duration ?? DURATION, DURATION) : (s.duration ?? DURATION);
  const job = { url, scenario: s.name, ctxFile, duration, maxRequests: s.maxRequests ?? duration * REQUESTS_PER_SECOND_CAP };

  // Warm-up: JIT, connection pools, KV/JWKS caches, Durable Object instances. Not measured.
  await runLoad({ ...job, duration: WARMUP, maxRequests: WARMUP * REQUESTS_PER_SECOND_CAP, idPrefix: `${runTag}-${index}-w` });
  await rpc(upstream, { op: "reset" });
  await sleep(200);

  const rss = { before: rssMiB(pid), peak: 0 };
  const sampler = setInterval(() => (rss.peak = Math.max(rss.peak, rssMiB(pid))), 250);
  let t0, cpu0, side0, core0;
  const side = () => cpuSeconds(upstream.pid);
  const core = () => (SERVER_CORE === undefined ? { busy: 0, steal: 0 } : coreSeconds(SERVER_CORE));
  const profiler = opt.profile && new RegExp(opt.profile).test(s.name) ? targets[s.target].profiler : undefined;
  const m = await runLoad({ ...job, idPrefix: `${runTag}-${index}` }, () => {
    void profiler?.start();
    t0 = performance.now();
    cpu0 = cpuSeconds(pid);
    side0 = side();
    core0 = core();
  }).finally(() => clearInterval(sampler));
  const wall = (performance.now() - t0) / 1000;
  const cpu = cpuSeconds(pid) - cpu0;
  if (profiler) writeProfile(s.name, await profiler.stop());
  const sideCpu = side() - side0;
  const core1 = core();
  // What else used the server core (other processes, interrupts) or the hypervisor took: noise indicators.
  const serverCore = { otherBusy: Math.max(0, (core1.busy - core0.busy - cpu) / wall), steal: (core1.steal - core0.steal) / wall };
  await sleep(200); // let requests still in flight at the stop reach the upstream before counting
  const { stats } = await rpc(upstream, { op: "stats" });
  rss.after = rssMiB(pid);
  rss.peak = Math.max(rss.peak, rss.before, rss.after);

  const ok2xx = Object.entries(m.statusCounts).reduce((n, [status, count]) => n + (status.startsWith("2") ? count : 0), 0);
  const notes = [];
  const unexpected = m.completed - (m.statusCounts[expect.status] ?? 0);
  if (unexpected > 0) notes.push(`${unexpected} responses not ${expect.status}${lastErrorLine(targets[s.target].log)}`);
  if (m.errors) notes.push(`${m.errors} connection errors`);
  if (m.timeouts) notes.push(`${m.timeouts} timeouts`);
  const lost = expect.upstream ? Math.max(0, ok2xx - stats.unique) : null;
  if (lost) notes.push(`${lost} answered 2xx but never reached the upstream`);
  if (stats.duplicates) notes.push(`${stats.duplicates} duplicated upstream requests`);
  if (!expect.upstream && stats.hits) notes.push(`${stats.hits} reached the upstream`);
  if (s.body?.bytes && stats.hits && stats.bodyBytes !== stats.hits * s.body.bytes) notes.push(`upstream got ${Math.round(stats.bodyBytes / stats.hits)} B/request`);
  if (stats.jwksHits) notes.push(`${stats.jwksHits} JWKS fetches`);
  if (s.body?.bytes && rss.after - rss.before > 16) notes.push(`RSS grew ${(rss.after - rss.before).toFixed(0)} MiB`);
  if (serverCore.otherBusy > 0.15) notes.push(`server core ${(serverCore.otherBusy * 100).toFixed(0)}% busy outside the target`);
  if (serverCore.steal > 0.05) notes.push(`${(serverCore.steal * 100).toFixed(0)}% CPU steal`);

  return {
    ...base,
    seconds: m.seconds,
    completed: m.completed,
    rps: m.completed / m.seconds,
    latencyMs: m.latencyMs,
    statusCounts: m.statusCounts,
    errors: m.errors,
    timeouts: m.timeouts,
    cpuUsPerReq: m.completed ? (cpu * 1e6) / m.completed : null,
    serverCoreBusy: cpu / wall,
    serverCore,
    loadCoreBusy: (m.loadCpuSeconds + sideCpu) / wall,
    rss,
    upstream: { ...stats, lost },
    notes,
  };
}

/** The last error-level line the target logged, shortened: the reason behind unexpected statuses. */
function lastErrorLine(log) {
  const fd = openSync(log, "r");
  try {
    const size = fstatSync(fd).size;
    const buf = Buffer.alloc(Math.min(size, 64 * 1024));
    readSync(fd, buf, 0, buf.length, size - buf.length);
    const line = buf.toString("utf8").split("\n").reverse().find((l) => /error/i.test(l));
    return line ? ` (last error logged: ${line.slice(0, 240).replaceAll("|", "/")})` : "";
  } finally {
    closeSync(fd);
  }
}

function versions() {
  const pkg = (name) => JSON.parse(readFileSync(join(root, "node_modules", name, "package.json"), "utf8")).version;
  const workerdBin = join(root, "node_modules", "workerd", "bin", "workerd");
  let workerd = pkg("workerd");
  try {
    workerd += ` (${execFileSync(workerdBin, ["--version"]).toString().trim()})`;
  } catch {
    // the package version alone will do
  }
  return { node: process.version, workerd, wrangler: pkg("wrangler"), autocannon: pkg("autocannon") };
}

function machine() {
  const cpus = os.cpus();
  return {
    cpuModel: cpus[0]?.model ?? "unknown",
    cpus: cpus.length,
    memGiB: (os.totalmem() / 2 ** 30).toFixed(1),
    os: `${os.type()} ${os.release()} ${os.arch()}`,
    loadavg: os.loadavg().map((l) => l.toFixed(2)).join(" "),
  };
}

function writeResults(report) {
  const dir = join(benchDir, "results");
  const md = markdown(report);
  for (const [file, text] of [["latest.json", JSON.stringify(report, null, 2) + "\n"], ["latest.md", md]]) {
    writeFileSync(join(dir, `${file}.tmp`), text);
    renameSync(join(dir, `${file}.tmp`), join(dir, file)); // never a half-written result
  }
  return md;
}

/**
 * The accuracy, fault and edge sections, after the table's processes are stopped (both cores are theirs). They
 * start their own upstream and gateways, reusing this run's bundle when it built.
 */
async function runSections() {
  const alone = ["accuracy", "faults", "edge"].filter((name) => opt[`${name}-only`]);
  const names = alone.length ? alone : ["accuracy", "faults", "edge"];
  if (opt["no-sections"] || (!alone.length && (opt.only || opt["refs-only"] || opt.profile))) {
    console.log("accuracy, fault and edge sections skipped (--accuracy-only / --faults-only / --edge-only run them alone)");
    return;
  }
  await stopAll();
  const bundleDir = targets.gateway ? join(tmp, "gateway-bundle") : undefined;
  for (const name of names) {
    if (lifecycle.interrupted()) return;
    const { run } = await import(`./${name}.mjs`);
    const { passed } = await run({ quick: opt.quick, configPath: opt.config, bundleDir, tmp, storage }).catch((err) => {
      console.error(`${name} section failed: ${err.message}`);
      return { passed: false };
    });
    if (!passed) process.exitCode = 1;
  }
}

async function main() {
  if (twoCores) pin(process.pid, LOAD_CORE);
  else console.warn("fewer than 2 CPUs: nothing is pinned, load and servers share the core");
  if (opt["accuracy-only"] || opt["faults-only"] || opt["edge-only"]) return runSections();
  const meta = {
    mode: opt.quick ? "quick" : "full",
    date: new Date().toISOString(),
    machine: machine(),
    versions: versions(),
    cores: { server: SERVER_CORE ?? "any", load: LOAD_CORE ?? "any" },
    durationSeconds: DURATION,
    warmupSeconds: WARMUP,
  };
  const selected = selectScenarios();

  const { jwks, signJwt } = await benchKeys();
  upstream = spawnNode(join(benchDir, "lib/upstream.mjs"), { core: LOAD_CORE, ipc: true, env: { BENCH_JWKS: JSON.stringify(jwks) }, label: "upstream" });
  const { port } = await waitMessage(upstream, (m) => m.op === "ready", 15_000, "upstream");
  const upstreamUrl = `http://127.0.0.1:${port}`;
  const jwksUrl = `${upstreamUrl}/.well-known/jwks.json`;

  const { gatewayVars, provision } = await import(pathToFileURL(resolve(opt.provision)).href);
  await startTargets(new Set(selected.map((s) => s.target)), upstreamUrl, jwksUrl, gatewayVars);
  meta.gateway = targets.gateway ? `bundle of ${opt.config}` : (targetStatus.gateway ?? "not selected");

  let ctx = {};
  if (targets.gateway) {
    const kv = {
      putMany: async (binding, entries) => {
        for (const e of entries) await kvPut(targets.gateway.kv[binding], e);
      },
      put: (binding, key, value, opts = {}) => kvPut(targets.gateway.kv[binding], { key, value, ...opts }),
    };
    const bench = { gatewayUrl: targets.gateway.url, upstreamUrl, jwksUrl, signJwt, kv, tenants: TENANTS, vars: gatewayFinalVars };
    ctx = (await provision(bench)) ?? {};
  }
  const ctxFile = join(tmp, "ctx.json");
  writeFileSync(ctxFile, JSON.stringify(ctx));

  const results = [];
  for (const [i, s] of selected.entries()) {
    if (lifecycle.interrupted()) return;
    process.stdout.write(`${s.name} ... `);
    // One broken scenario (a load generator that died, a target that crashed) does not end the run.
    const r = await runScenario(s, ctx, ctxFile, i).catch((err) => ({ name: s.name, target: s.target, connections: s.connections, compareTo: s.compareTo, skipped: `failed: ${err.message}` }));
    console.log(r.skipped ? `skipped (${r.skipped})` : `${r.rps.toFixed(0)} req/s, ${r.cpuUsPerReq?.toFixed(0)} µs CPU/req`);
    results.push(r);
  }
  const md = writeResults({ meta, results: addRatios(results) });
  console.log("\n" + md);
  await runSections();
}

async function shutdown() {
  await stopAll(); // everything still running, by PID: workerd processes, upstream, a load generator
  rmSync(storage, { recursive: true, force: true });
  if (opt.keep) console.log(`kept ${tmp}`);
  else rmSync(tmp, { recursive: true, force: true });
}

const lifecycle = withCleanup(shutdown);
await lifecycle.run(main);
