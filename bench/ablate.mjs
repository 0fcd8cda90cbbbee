/**
 * `npm run bench -- --ablate` (or `node bench/ablate.mjs`): the stage cost table. Builds the production
 * bundle once, makes one variant per stage of the request path in which that stage is skipped or replaced
 * by its cheapest stand-in (bench/lib/ablation.mjs patches the bundle's text; the source has no switches),
 * and measures every variant against the full gateway and ref-pass in one run, in rounds (each target
 * once per round, in a new shuffled order each round), so slow drift on a shared machine spreads over all of
 * them. Two controls run with them: a second, unpatched copy of the full gateway started last (its delta is
 * the run's own noise) and a "no-op patch" variant (a comment added: the patch step changes nothing else).
 *
 *   node bench/ablate.mjs [--scenario gateway/integration-key-c32] [--variants <regex>] [--rounds 3]
 *                         [--duration 5] [--warmup 1] [--keep] [--config wrangler.toml]
 *                         [--instrument cpu|callgrind] [--requests 500] [--warmup-requests <n>] [--against <git ref>]
 *                         [--order shuffle|rotate] [--seed 21] [--no-copy] [--no-upstream-reset]
 *                         [--tenants 1000] [--ref-do] [--base <variant>] [--before <scenario> [--before-requests 2000] [--before-seconds 10] [--before-only <regex>]]
 *
 * `--against main --variants none` is an A/B of this checkout against another commit, in one run.
 * BENCH_V8_FLAGS="--trace-opt --trace-deopt" (space-separated) passes V8 flags to every target's workerd:
 * its workerd.log (kept with --keep) then shows when each function was compiled, against the request lines.
 *
 * Instrument: CPU time of each target's workerd process (user + system, /proc/<pid>/stat) over the
 * measured window, divided by the responses completed: µs/request. Each Worker has its own workerd on the
 * server core, so this is the Worker's cost alone (its runtime, V8, sockets), whatever else the machine
 * runs; req/s is printed too but moves with what else runs. The figure per target is the median of its
 * rounds; the spread (min-max) is shown so a reader can tell a stage's cost from noise.
 * `--instrument callgrind` counts instructions instead (see underInstrument): slower, one round, but the
 * same figure whatever else the machine runs. Writes bench/results/ablation.json and ablation.md (callgrind:
 * ablation-callgrind.json/.md) and prints the table.
 */
import { execFileSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, renameSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import http from "node:http";
import os from "node:os";
import { dirname, join, resolve } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { fileURLToPath, pathToFileURL } from "node:url";
import { parseArgs } from "node:util";
import { ALL, applyPatches, patchesOf, VARIANTS } from "./lib/ablation.mjs";
import { benchVars, buildGateway, gatewayTarget } from "./lib/gateway.mjs";
import { benchKeys, runLoad, withCleanup } from "./lib/harness.mjs";
import { coreSeconds, cpuSeconds, pin, stopAll } from "./lib/proc.mjs";
import { startUpstream } from "./lib/stack.mjs";
import { kvPut, startWorkerd } from "./lib/workerd.mjs";
import { scenarios, TENANTS } from "./scenarios.mjs";
// The property tests' seeded generator (mulberry32): a run's order repeats for a given --seed.
import { rng as seeded } from "../test/support/rng.ts";

const benchDir = dirname(fileURLToPath(import.meta.url));
const root = resolve(benchDir, "..");
const { values: opt } = parseArgs({
  allowNegative: true,
  options: {
    ablate: { type: "boolean", default: false }, // accepted so `npm run bench -- --ablate ...` passes through
    scenario: { type: "string", default: "gateway/integration-key-c32" },
    variants: { type: "string" }, // regex over stage names; default all
    rounds: { type: "string", default: "3" },
    duration: { type: "string", default: "5" },
    warmup: { type: "string", default: "1" },
    quick: { type: "boolean", default: false }, // 1 round of 2 s: a smoke run
    instrument: { type: "string", default: "cpu" }, // cpu | callgrind
    against: { type: "string" }, // a git ref: its production bundle runs too, as "full gateway @ <ref>" (an A/B of two commits)
    requests: { type: "string", default: "500" }, // callgrind: measured requests per target (after as many again to warm up)
    // callgrind: requests before the counted ones (default: --requests). The gateway's JavaScript is still being
    // compiled (Maglev, on the main thread under --predictable) 500 requests in; a native run of thousands has
    // done so within its first second, so a longer warm-up counts what a request costs once that is over.
    "warmup-requests": { type: "string" },
    // callgrind: a gateway scenario sent to each gateway target before its warm-up (e.g. the full bench's 401
    // flood, which runs before the admitted rows in one process), `--before-requests` of them (default 2000).
    before: { type: "string" },
    "before-requests": { type: "string", default: "2000" },
    "before-seconds": { type: "string", default: "10" }, // cpu: the flood's length, at the scenario's connections
    "before-only": { type: "string" }, // regex over target names the flood goes to (default: every gateway target)
    order: { type: "string", default: "shuffle" }, // shuffle (a new seeded order each round) | rotate (the cyclic order of v1, for comparison)
    seed: { type: "string", default: "21" }, // the shuffle's seed: a run's order can be repeated
    copy: { type: "boolean", default: true }, // --no-copy: no second, unpatched copy of the full gateway (the table's own noise row)
    "upstream-reset": { type: "boolean", default: true }, // --no-upstream-reset: v1's upstream, whose per-id counters grew all run
    keep: { type: "boolean", default: false },
    config: { type: "string", default: join(root, "wrangler.toml") },
    provision: { type: "string", default: join(benchDir, "provision.mjs") },
    tenants: { type: "string" }, // tenants provisioned; default 1, or TENANTS for a scenario that cycles over tenants (1000-tenants)
    "ref-do": { type: "boolean", default: false }, // also measure ref-do (one DO RPC per request) in the scenario's shape
    // A variant applied to every gateway target first (FULL, the copy, --against, every variant): `--base "lease take"`
    // takes the lease exchanges out of an A/B of a change elsewhere. Under callgrind they are driven by the wall
    // clock (one per lease TTL), so a more loaded machine puts more of them on each counted request.
    base: { type: "string" },
  },
});

const twoCores = os.cpus().length >= 2;
const SERVER_CORE = twoCores ? Number(process.env.BENCH_SERVER_CORE ?? 0) : undefined;
const LOAD_CORE = twoCores ? Number(process.env.BENCH_LOAD_CORE ?? 1) : undefined;
const ROUNDS = opt.quick || opt.instrument === "callgrind" ? 1 : Number(opt.rounds);
const DURATION = opt.quick ? 2 : Number(opt.duration);
const WARMUP = Number(opt.warmup);
const REQUESTS_PER_SECOND_CAP = 50_000;
const FULL = "full gateway";
// A second workerd running the same unpatched bundle, started last: its delta against FULL is the table's own
// noise estimate (two measurements of one bundle), whatever the order or the machine did.
const COPY = `${FULL} (copy)`;

const tmp = mkdtempSync(join(os.tmpdir(), "gateway-ablate-"));
const storage = mkdtempSync(join(existsSync("/dev/shm") ? "/dev/shm" : os.tmpdir(), "gateway-ablate-do-"));

const scenario = scenarios.find((s) => s.name === opt.scenario);
if (!scenario || scenario.target !== "gateway") throw new Error(`--scenario must name a gateway scenario of bench/scenarios.mjs; got ${opt.scenario}`);
const reference = scenarios.find((s) => s.target === "ref-pass" && s.compareTo === scenario.compareTo);
const referenceDo = scenarios.find((s) => s.target === "ref-do" && s.compareTo === scenario.compareTo);
// A scenario that cycles over tenants (1000-tenants) needs them provisioned; every other one measures one key's path.
const TENANT_COUNT = Number(opt.tenants ?? (scenario.needs === "tenantHeaders" ? TENANTS : 1));

function variantNames() {
  const only = opt.variants ? new RegExp(opt.variants, "i") : null;
  return [...Object.keys(VARIANTS), ALL].filter((n) => !only || only.test(n));
}

/** A copy of the built bundle with the variant's patches applied to index.js (FULL or a baseline: unpatched). */
function variantBundle(bundleDir, name, text) {
  const dir = join(tmp, "variants", name.replace(/[^a-z0-9]+/gi, "-"));
  mkdirSync(dir, { recursive: true });
  for (const f of readdirSync(bundleDir)) if (f !== "index.js") copyFileSync(join(bundleDir, f), join(dir, f));
  const base = opt.base ? applyPatches(text, patchesOf(opt.base)) : text;
  writeFileSync(join(dir, "index.js"), VARIANTS[name] || name === ALL ? applyPatches(base, patchesOf(name)) : base);
  return dir;
}

/**
 * The production bundle of another commit (`--against <ref>`): its tree from `git archive` (no worktree, no
 * change to the repository), this checkout's node_modules, built the same way. Returns its bundle dir.
 */
async function buildAgainst(ref) {
  const src = join(tmp, "against-src");
  mkdirSync(src, { recursive: true });
  execFileSync("sh", ["-c", `git -C "${root}" archive "${ref}" | tar -x -C "${src}"`], { stdio: ["ignore", "ignore", "inherit"] });
  symlinkSync(join(root, "node_modules"), join(src, "node_modules"));
  const outDir = join(tmp, "against-bundle");
  const build = await buildGateway(join(src, "wrangler.toml"), outDir);
  if (!build.ok) throw new Error(`the bundle of ${ref} did not build:\n${build.error}`);
  return outDir;
}

async function startGateways(names, upstreamUrl, jwksUrl, signJwt) {
  const bundleDir = join(tmp, "bundle");
  console.log(`building the gateway (wrangler deploy --dry-run, ${opt.config})`);
  const build = await buildGateway(opt.config, bundleDir);
  if (!build.ok) throw new Error(`gateway bundle did not build:\n${build.error}`);
  const text = readFileSync(join(bundleDir, "index.js"), "utf8");
  const { gatewayVars, provision } = await import(pathToFileURL(resolve(opt.provision)).href);
  const targets = [];
  const builds = [[FULL, bundleDir, text]];
  if (opt.against) {
    const againstDir = await buildAgainst(opt.against);
    builds.push([`${FULL} @ ${opt.against}`, againstDir, readFileSync(join(againstDir, "index.js"), "utf8")]);
  }
  for (const name of names) builds.push([name, bundleDir, text]);
  if (opt.copy) builds.push([COPY, bundleDir, text]);
  for (const [name, from, source] of builds) {
    const what =
      name === FULL
        ? "the production bundle"
        : name === COPY
          ? "the production bundle again, in a workerd started last: the noise control (its delta is the run's noise)"
          : name.startsWith(`${FULL} @`)
            ? `the production bundle of ${opt.against}`
            : (VARIANTS[name]?.what ?? "every stage's stand-in at once (log write and controls aside)");
    const t = { name, what };
    targets.push(t);
    try {
      const dir = variantBundle(from, name, source);
      const target = await gatewayTarget(opt.config, dir, (vars) => ({ ...benchVars(vars, upstreamUrl), ...gatewayVars({ upstreamUrl, jwksUrl, vars }), ...SLOWED_VARS }));
      const id = `gw-${targets.length}`;
      const server = await startWorkerd({ ...target, id, v8Flags: V8_FLAGS }, join(tmp, id), { core: SERVER_CORE, storageDir: join(storage, id), ...underInstrument(id) });
      const kv = {
        putMany: async (binding, entries) => {
          for (const e of entries) await kvPut(server.kv[binding], e);
        },
        put: (binding, key, value, o = {}) => kvPut(server.kv[binding], { key, value, ...o }),
      };
      // One tenant unless the scenario cycles over tenants: the single-key path needs no more.
      const ctx = (await provision({ gatewayUrl: server.url, upstreamUrl, jwksUrl, signJwt, kv, tenants: TENANT_COUNT, vars: target.vars })) ?? {};
      t.ctxFile = join(tmp, `${id}-ctx.json`);
      writeFileSync(t.ctxFile, JSON.stringify(ctx));
      Object.assign(t, { id, url: server.url, pid: server.pid, log: server.log });
      console.log(`  ${name}: ready`);
    } catch (err) {
      t.skipped = err.message.split("\n")[0];
      console.log(`  ${name}: skipped (${t.skipped})`);
    }
  }
  return targets;
}

/** The local upstream (lib/stack.mjs, `startUpstream`), shared by every target. */
let upstream;

/**
 * Warm-up, then one measured window of `s` against target `t`: CPU µs/request of its workerd, req/s, and the
 * upstream's CPU µs/request (on the load core: a slow upstream slows the target too).
 * The upstream's per-id counters are cleared first: v1 kept them all run (millions of ids, a growing heap on
 * the load core for the later measurements); nothing here reads them.
 */
async function measure(t, s, round) {
  if (opt["upstream-reset"]) await upstream.call("reset");
  const job = { url: t.url, scenario: s.name, ctxFile: t.ctxFile, duration: DURATION, maxRequests: DURATION * REQUESTS_PER_SECOND_CAP };
  if (floods(t)) {
    const seconds = Number(opt["before-seconds"]);
    await runLoad({ ...job, scenario: BEFORE.name, duration: seconds, maxRequests: seconds * REQUESTS_PER_SECOND_CAP, idPrefix: `abl-${round}-${t.pid}-b` }, LOAD_CORE);
  }
  await runLoad({ ...job, duration: WARMUP, maxRequests: WARMUP * REQUESTS_PER_SECOND_CAP, idPrefix: `abl-${round}-${t.pid}-w` }, LOAD_CORE);
  let t0, cpu0, core0, up0;
  const core = () => (SERVER_CORE === undefined ? { busy: 0, steal: 0 } : coreSeconds(SERVER_CORE));
  const m = await runLoad({ ...job, idPrefix: `abl-${round}-${t.pid}` }, LOAD_CORE, () => {
    t0 = performance.now();
    cpu0 = cpuSeconds(t.pid);
    up0 = cpuSeconds(upstream.pid);
    core0 = core();
  });
  const wall = (performance.now() - t0) / 1000;
  const cpu = cpuSeconds(t.pid) - cpu0;
  const upCpu = cpuSeconds(upstream.pid) - up0;
  const core1 = core();
  const expected = s.expect?.status ?? 200;
  return {
    rps: m.completed / m.seconds,
    cpuUs: m.completed ? (cpu * 1e6) / m.completed : null,
    upstreamUs: m.completed ? (upCpu * 1e6) / m.completed : null,
    unexpected: m.completed - (m.statusCounts[expected] ?? 0),
    statuses: m.statusCounts,
    otherBusy: Math.max(0, (core1.busy - core0.busy - cpu) / wall),
    steal: (core1.steal - core0.steal) / wall,
  };
}

/**
 * Under `--instrument callgrind` every target runs under valgrind's callgrind with instrumentation off until
 * the measured window (`callgrind_control -i on`, counters zeroed), so start-up and warm-up are not counted:
 * the figure is instructions executed by the whole workerd process (runtime, V8, the Worker's code) per
 * request, which does not move with what else the machine runs. About 50x slower than native: requests go
 * one at a time (`--requests`, default 500, after as many to warm up).
 */
const CALLGRIND = opt.instrument === "callgrind";
if (!["cpu", "callgrind"].includes(opt.instrument)) throw new Error(`--instrument is cpu or callgrind, not ${opt.instrument}`);
if (!["shuffle", "rotate"].includes(opt.order)) throw new Error(`--order is shuffle or rotate, not ${opt.order}`);
const REQUESTS = Number(opt.requests);
const WARMUP_REQUESTS = Number(opt["warmup-requests"] ?? opt.requests);
const BEFORE = opt.before === undefined ? null : scenarios.find((x) => x.name === opt.before && x.target === "gateway");
if (opt.before !== undefined && !BEFORE) throw new Error(`--before must name a gateway scenario; got ${opt.before}`);
const beforeOnly = opt["before-only"] ? new RegExp(opt["before-only"], "i") : null;
/** Whether target `t` gets the --before flood now: once, before its first measurement, and only gateway targets. */
function floods(t) {
  if (!BEFORE || t.name.startsWith("ref-") || t.flooded || (beforeOnly && !beforeOnly.test(t.name))) return false;
  return (t.flooded = true);
}
// V8 without background threads and with fixed GC/compile decisions: counts that repeat (callgrind only;
// the CPU instrument measures the runtime as it ships).
const V8_FLAGS = [...(CALLGRIND ? ["--predictable"] : []), ...(process.env.BENCH_V8_FLAGS ?? "").split(" ").filter(Boolean)];
// Under valgrind a request takes ~50x its native time, so work driven by the clock (lease exchanges every
// lease TTL) falls on ~50x fewer requests than natively: the longest lease the config allows (10 s) keeps
// the exchanges' share per request nearer to a native run's with the default 1 s. Not for a scenario that
// cycles over tenants: there each tenant is sparse (a request per second or less each), one exchange per
// request, and a 10 s lease would make it look busy enough to lease ahead.
const SLOWED_VARS = CALLGRIND && !scenario.variants ? { RATE_LIMIT_LEASE_MS: "10000" } : {};

function underInstrument(id) {
  if (!CALLGRIND) return {};
  const outDir = join(tmp, "callgrind", id);
  mkdirSync(outDir, { recursive: true });
  return {
    timeoutMs: 300_000,
    wrap: ["valgrind", "--tool=callgrind", "--instr-atstart=no", "--smc-check=all-non-file", `--callgrind-out-file=${join(outDir, "out")}`],
  };
}

/**
 * `n` requests of scenario `s` (with its body, if any), one at a time over one keep-alive connection; the
 * statuses seen. A scenario with `variants` cycles through them as the load generator does (lib/load.mjs),
 * request `first + i` taking variant (first + i) mod their count, so the measured requests continue the
 * warm-up's cycle.
 */
async function sequential(t, s, n, first = 0) {
  const ctx = t.ctxFile ? JSON.parse(readFileSync(t.ctxFile, "utf8")) : {};
  const headers = typeof s.headers === "function" ? s.headers(ctx) : { ...s.headers };
  // The references' variants name all TENANTS tenants: they cycle over as many as the gateway was provisioned with.
  const variants = s.variants?.(ctx).slice(0, TENANT_COUNT) ?? [{}];
  // The scenario's body as bench/lib/load.mjs sends it (a shape's `{ bytes }` is that many random bytes), with its length.
  const body = s.body === undefined ? undefined : typeof s.body === "string" ? Buffer.from(s.body) : randomBytes(s.body.bytes);
  if (body !== undefined) headers["content-length"] = String(body.byteLength);
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  const statuses = {};
  try {
    for (let i = first; i < first + n; i++) {
      const v = variants[i % variants.length];
      const status = await new Promise((ok, fail) => {
        const req = http.request(t.url + (v.path ?? s.path), { method: s.method, headers: { ...headers, ...v.headers, "x-request-id": `abl-cg-${t.pid}-${i}` }, agent }, (res) => {
          res.resume();
          res.on("end", () => ok(res.statusCode));
        });
        req.setTimeout(60_000, () => req.destroy(new Error("no answer within 60 s")));
        req.on("error", fail);
        req.end(body);
      });
      statuses[status] = (statuses[status] ?? 0) + 1;
    }
  } finally {
    agent.destroy();
  }
  return statuses;
}

const control = (...args) => execFileSync("callgrind_control", args, { stdio: ["ignore", "pipe", "pipe"] }).toString();

/** Instructions per request under callgrind: `WARMUP_REQUESTS` to warm up, then `REQUESTS` requests counted. */
async function measureInstructions(t, s) {
  if (floods(t)) await sequential(t, BEFORE, Number(opt["before-requests"]));
  await sequential(t, s, WARMUP_REQUESTS);
  const outDir = join(tmp, "callgrind", t.id);
  const before = new Set(readdirSync(outDir));
  control("-i", "on", String(t.pid));
  control("-z", String(t.pid));
  const statuses = await sequential(t, s, REQUESTS, REQUESTS);
  control("-d", String(t.pid));
  control("-i", "off", String(t.pid));
  const dump = readdirSync(outDir).filter((f) => !before.has(f)).sort().at(-1);
  if (!dump) throw new Error("callgrind wrote no dump");
  const totals = /^(?:summary|totals): (\d+)$/m.exec(readFileSync(join(outDir, dump), "utf8"));
  if (!totals) throw new Error(`no totals in ${dump}`);
  const expected = s.expect?.status ?? 200;
  return { rps: null, cpuUs: null, instructions: Number(totals[1]) / REQUESTS, unexpected: REQUESTS - (statuses[expected] ?? 0), statuses, otherBusy: 0, steal: 0 };
}

/** The target's last log line, shortened: why its statuses were not the expected ones. */
function lastLogLine(log) {
  if (!log) return "no log";
  const lines = readFileSync(log, "utf8").trim().split("\n");
  return (lines.at(-1) ?? "").slice(0, 300);
}

/**
 * The order of one round. `shuffle` (default): a new permutation each round from a seeded generator, so no
 * target is always measured right after the same one. `rotate` keeps one cyclic order and only shifts its
 * start: with it the full gateway always followed ref-pass, the fastest target, and measured ~40% above
 * every variant (docs/benchmarks.md); kept to show that artifact again.
 */
function roundOrder(live, round, random) {
  if (opt.order === "rotate") return live.map((_, i) => live[(i + round * Math.max(1, Math.floor(live.length / ROUNDS))) % live.length]);
  const order = [...live];
  for (let i = order.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [order[i], order[j]] = [order[j], order[i]];
  }
  return order;
}

const median = (xs) => {
  const v = xs.filter((x) => x !== null).sort((a, b) => a - b);
  if (!v.length) return null;
  const mid = Math.floor(v.length / 2);
  return v.length % 2 ? v[mid] : (v[mid - 1] + v[mid]) / 2;
};

function summarize(targets) {
  const rows = targets.map((t) => {
    if (t.skipped || !t.runs.length) return { name: t.name, what: t.what, skipped: t.skipped ?? "no round completed" };
    const values = t.runs.map((r) => (CALLGRIND ? r.instructions : r.cpuUs)).filter((x) => x !== null);
    return {
      name: t.name,
      what: t.what,
      rounds: t.runs.length,
      rps: CALLGRIND ? null : median(t.runs.map((r) => r.rps)),
      value: median(values),
      min: Math.min(...values),
      max: Math.max(...values),
      unexpected: t.runs.reduce((n, r) => n + r.unexpected, 0),
      serverCoreOtherBusy: median(t.runs.map((r) => r.otherBusy)),
      steal: median(t.runs.map((r) => r.steal)),
      // Each round's figure and the target measured just before it: what an order effect would show in.
      upstreamUs: CALLGRIND ? null : median(t.runs.map((r) => r.upstreamUs)),
      perRound: t.runs.map((r) => ({ round: r.round, after: r.after, value: CALLGRIND ? r.instructions : r.cpuUs, rps: r.rps, upstreamUs: r.upstreamUs ?? null })),
    };
  });
  const full = rows.find((r) => r.name === FULL && !r.skipped);
  const ref = rows.find((r) => r.name === "ref-pass" && !r.skipped);
  return rows.map((r) =>
    r.skipped
      ? r
      : {
          ...r,
          delta: full && !r.name.startsWith("ref-") ? r.value - full.value : null,
          vsPass: ref ? r.value / ref.value : null,
          rpsVsPass: ref && r.rps !== null ? r.rps / ref.rps : null,
        },
  );
}

function markdown(meta, rows) {
  const f = (v, d = 0) => (v === null || v === undefined || Number.isNaN(v) ? "–" : v.toFixed(d));
  const unit = CALLGRIND ? "k instructions/req" : "CPU µs/req";
  const scale = CALLGRIND ? 1 / 1000 : 1;
  const d = CALLGRIND ? 1 : 0;
  const sign = (v) => (v === null || v === undefined ? "–" : `${v > 0 ? "+" : ""}${(v * scale).toFixed(d)}`);
  const window = CALLGRIND
    ? `${meta.rounds} round(s) of ${meta.requests} requests one at a time (after ${meta.warmupRequests} to warm up) per target, each under valgrind --tool=callgrind`
    : `${meta.rounds} round(s) of ${meta.warmupSeconds} s warm-up + ${meta.durationSeconds} s measured per target, ${meta.connections} connections`;
  const lines = [
    `# Stage cost by ablation (${meta.date})`,
    "",
    `Scenario \`${meta.scenario}\`; ${window}.${meta.base ? ` Every gateway target with the \`${meta.base}\` variant applied first.` : ""}`,
    `Instrument: ${meta.instrument} (median of rounds, min-max shown). A stage's cost is minus its delta: what the full gateway spends that the variant without it does not.`,
    `Load average at start: ${meta.loadavg}.`,
    "",
    `| variant | req/s | ${unit} | min-max | Δ vs full | × ref-pass | req/s × ref-pass | what the variant does instead |`,
    "|---|--:|--:|--:|--:|--:|--:|---|",
  ];
  const controls = rows.filter((r) => (r.name === COPY || VARIANTS[r.name]?.control) && !r.skipped && r.delta !== null);
  for (const r of rows) {
    if (r.skipped) {
      lines.push(`| ${r.name} | skipped | | | | | | ${r.skipped.replaceAll("|", "/")} |`);
      continue;
    }
    const notes = [r.unexpected ? `${r.unexpected} unexpected statuses` : "", r.serverCoreOtherBusy > 0.15 ? `server core ${f(r.serverCoreOtherBusy * 100)}% busy outside the target` : ""].filter(Boolean);
    lines.push(
      `| ${r.name} | ${f(r.rps)} | ${f(r.value * scale, d)} | ${f(r.min * scale, d)}-${f(r.max * scale, d)} | ${sign(r.delta)} | ${f(r.vsPass, 2)}× | ${r.rpsVsPass === null ? "–" : `${f(r.rpsVsPass, 2)}×`} | ${r.what}${notes.length ? ` (${notes.join("; ")})` : ""} |`,
    );
  }
  if (controls.length) {
    const floor = Math.max(...controls.map((r) => Math.abs(r.delta)));
    lines.push(
      "",
      `Noise: the controls, which run the full gateway's code, measured ${controls.map((r) => `${sign(r.delta)} (${r.name})`).join(", ")} against it; a delta within ±${sign(floor).replace("+", "")} is not a cost this run can tell.`,
    );
  }
  if (!CALLGRIND) lines.push("", `Order: ${meta.order}; upstream counters reset before each measurement: ${meta.upstreamReset ? "yes" : "no (v1)"}.`);
  return lines.join("\n") + "\n";
}

function writeResults(meta, rows, name) {
  const dir = join(benchDir, "results");
  const md = markdown(meta, rows);
  for (const [file, text] of [[`${name}.json`, JSON.stringify({ meta, rows }, null, 2) + "\n"], [`${name}.md`, md]]) {
    writeFileSync(join(dir, `${file}.tmp`), text);
    renameSync(join(dir, `${file}.tmp`), join(dir, file));
  }
  return md;
}

async function main() {
  if (twoCores) pin(process.pid, LOAD_CORE);
  const names = variantNames();
  const { jwks, signJwt } = await benchKeys();
  upstream = await startUpstream({ BENCH_JWKS: JSON.stringify(jwks) });
  const upstreamUrl = upstream.url;
  const jwksUrl = `${upstreamUrl}/.well-known/jwks.json`;

  const { workerOptions: fromToml } = (await import("wrangler")).unstable_getMiniflareWorkerOptions(opt.config);
  const ref = { name: "ref-pass", what: "bare pass-through (bench/reference/pass.mjs)", scenario: reference };
  const server = await startWorkerd(
    { id: "ref-pass", v8Flags: V8_FLAGS, modules: [{ path: join(benchDir, "reference/pass.mjs") }], vars: { UPSTREAM: upstreamUrl }, compatibilityDate: fromToml.compatibilityDate, compatibilityFlags: fromToml.compatibilityFlags ?? [] },
    join(tmp, "ref-pass"),
    { core: SERVER_CORE, storageDir: join(storage, "ref-pass"), ...underInstrument("ref-pass") },
  );
  Object.assign(ref, { id: "ref-pass", url: server.url, pid: server.pid, ctxFile: undefined });
  const refs = [ref];
  if (opt["ref-do"]) {
    const refDo = { name: "ref-do", what: "pass-through + one DO RPC per request (bench/reference/pass-do.mjs)", scenario: referenceDo };
    const doServer = await startWorkerd(
      { id: "ref-do", v8Flags: V8_FLAGS, modules: [{ path: join(benchDir, "reference/pass-do.mjs") }], vars: { UPSTREAM: upstreamUrl }, durableObjects: [{ binding: "COUNTER", className: "TenantCounter", sqlite: true }], compatibilityDate: fromToml.compatibilityDate, compatibilityFlags: fromToml.compatibilityFlags ?? [] },
      join(tmp, "ref-do"),
      { core: SERVER_CORE, storageDir: join(storage, "ref-do"), ...underInstrument("ref-do") },
    );
    refs.push(Object.assign(refDo, { id: "ref-do", url: doServer.url, pid: doServer.pid, ctxFile: undefined }));
  }
  const gateways = await startGateways(names, upstreamUrl, jwksUrl, signJwt);
  const targets = [...refs, ...gateways];
  for (const t of targets) t.runs = [];

  const meta = {
    date: new Date().toISOString(),
    base: opt.base ?? null,
    scenario: scenario.name,
    connections: scenario.connections,
    rounds: ROUNDS,
    durationSeconds: DURATION,
    warmupSeconds: WARMUP,
    loadavg: os.loadavg().map((l) => l.toFixed(2)).join(" "),
    requests: REQUESTS,
    warmupRequests: WARMUP_REQUESTS,
    before: BEFORE ? `${opt["before-requests"]} × ${BEFORE.name} before the warm-up` : null,
    order: CALLGRIND ? "one round" : opt.order === "shuffle" ? `shuffled per round, seed ${opt.seed}` : "rotated (v1)",
    upstreamReset: opt["upstream-reset"],
    instrument: CALLGRIND
      ? "instructions executed by the target's workerd process per request (valgrind --tool=callgrind, instrumentation on for the measured requests only)"
      : "CPU time of the target's own workerd process (/proc/<pid>/stat utime+stime) per completed response",
  };
  const live = targets.filter((t) => !t.skipped);
  const random = seeded(Number(opt.seed));
  for (let round = 0; round < ROUNDS; round++) {
    const order = roundOrder(live, round, random);
    console.log(`round ${round + 1} order: ${order.map((t) => t.name).join(", ")}`);
    let previous = null;
    for (const t of order) {
      if (lifecycle.interrupted()) return;
      const s = t.scenario ?? scenario;
      const r = await (CALLGRIND ? measureInstructions(t, s) : measure(t, s, round)).catch((err) => ({ error: err.message }));
      if (r.error) {
        console.log(`round ${round + 1} ${t.name}: failed (${r.error})`);
        continue;
      }
      t.runs.push({ ...r, round: round + 1, after: previous });
      previous = t.name;
      const figure = CALLGRIND ? `${(r.instructions / 1000).toFixed(1)} k instructions/req` : `${r.rps.toFixed(0)} req/s, ${r.cpuUs?.toFixed(0)} µs CPU/req (upstream ${r.upstreamUs?.toFixed(0)} µs/req)`;
      console.log(`round ${round + 1} ${t.name}: ${figure}${r.unexpected ? `, ${r.unexpected} unexpected statuses (${JSON.stringify(r.statuses)}; ${lastLogLine(t.log)})` : ""}`);
      await sleep(100);
    }
  }
  const md = writeResults(meta, summarize(targets), CALLGRIND ? "ablation-callgrind" : "ablation");
  console.log("\n" + md);
}

async function shutdown() {
  await stopAll();
  rmSync(storage, { recursive: true, force: true });
  if (opt.keep) console.log(`kept ${tmp}`);
  else rmSync(tmp, { recursive: true, force: true });
}

const lifecycle = withCleanup(shutdown);
await lifecycle.run(main);
