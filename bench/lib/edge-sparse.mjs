/**
 * The edge section's sparse and hog rows: does the gateway admit what an exact sliding log would, when a
 * tenant's requests are spread thin over many isolates and keys? One workerd with 8 gateway isolates (each
 * its own Worker service binding the tenant Durable Object class of the limiter service, D ms away), one
 * tenant per row with 8 integration keys and its policy set through the admin API, every request from a
 * random (isolate, key) at seeded Poisson arrival times (lib/edge-demand.mjs):
 *
 *   sparse   0.5 L and 0.9 L per W, for L = 100/1m and L = 20/10s
 *   hog      key 0 bursts 2 L (about W/10 long, from W/2) and stops; the other keys go on at 0.5 L per W
 *
 * The rows are different tenants (their own objects and, in each isolate, their own lease state), so they
 * run at the same time on one stack: a few requests per second each, far below what one core serves, so
 * none waits on another's. Every row runs for the same span, 3 windows of the longest W (3 minutes; --quick
 * shortens the windows to 6 s and 2 s, 18 s in all, and says so), so the 10 s rows measure 18 windows.
 * The keys are made through isolate 0 before, and the load starts once the bench KV has shown them to every
 * isolate (KV_PROPAGATION_MS): what the rows' latency shows is the limiter's, not first directory lookups.
 *
 * Per row, besides the gateway's answers: exactAdmitted, what the exact sliding log admits for the same
 * arrivals, taken at the times the gateway received them (lib/edge-received.mjs logs them in the isolate,
 * on the clock `admittedAt` is on); maxAdmittedInWindow by the isolates' admission times; limiterCalls,
 * the calls the row's tenant's object served during the load (lib/edge-limiter.mjs counts per object).
 */
import { performance } from "node:perf_hooks";
import { setTimeout as sleep } from "node:timers/promises";
import { join } from "node:path";
import { exactAdmissions, hogSchedule, sparseSchedule } from "./edge-demand.mjs";
import { pacedLoad, scheduledLoad } from "./edge-load.mjs";
import { arrivalsByRequest, edgeAdmin, keyHeaders, limiterService, logTimes, sortedTimes, tally } from "./edge-measure.mjs";
import { maxInWindow } from "./edge-report.mjs";
import { KV_PROPAGATION_MS, startEdgeGateways } from "./edge-stack.mjs";
import { coreSeconds, cpuSeconds } from "./proc.mjs";
import { SERVER_CORE } from "./stack.mjs";

export const SPARSE_ISOLATES = 8;
export const SPARSE_KEYS = 8;
/** The object's one-way delay for these rows: a nearby region, as in the middle of the half/saturating rows. */
export const SPARSE_DELAY_MS = 25;
const WINDOWS = 3;
const SEED = 18;
const PATH = "/psa/tickets";
// L and W as the issue gives them; --quick keeps L and shortens W (6 s, 2 s).
const POLICIES = [
  { limit: 100, window: "1m", windowSec: 60, quickWindow: "6s", quickWindowSec: 6 },
  { limit: 20, window: "10s", windowSec: 10, quickWindow: "2s", quickWindowSec: 2 },
];
const DEMANDS = [
  { demand: "sparse", load: 0.5 },
  { demand: "sparse", load: 0.9 },
  { demand: "hog", load: 0.5 },
];

/** The rows' specs: name, demand, load, limit, window, seed. */
export function sparseRows(quick) {
  return POLICIES.flatMap((p, pi) =>
    DEMANDS.map((d, di) => {
      const window = quick ? p.quickWindow : p.window;
      return { ...d, name: `${d.demand} ${d.load}L ${p.limit}/${window}`, limit: p.limit, window, windowSec: quick ? p.quickWindowSec : p.windowSec, seed: SEED * 100 + pi * 10 + di };
    }),
  );
}

/** The row's schedule: requests { atMs, isolate, key } over `spanMs`. */
function schedule(row, spanMs) {
  const spec = { seed: row.seed, limit: row.limit, windowMs: row.windowSec * 1000, load: row.load, spanMs, isolates: SPARSE_ISOLATES, keyCount: SPARSE_KEYS };
  return row.demand === "hog" ? hogSchedule({ ...spec, burstAtMs: spec.windowMs / 2 }) : sparseSchedule(spec);
}

const callCount = (calls) => Object.values(calls).reduce((a, b) => a + b, 0);

/** A fresh tenant for `row`: 8 keys, then its one policy; its object's call counts so far. */
async function prepare(edge, row, tag) {
  const tenant = `bench-edge-${row.demand}-${row.load * 10}-${row.limit}-${row.windowSec}s-${tag}`;
  const keys = [];
  for (let k = 0; k < SPARSE_KEYS; k++) keys.push(await keyHeaders(edge, tenant));
  await edgeAdmin(edge, "PUT", `/tenants/${tenant}/rate-limit`, { policies: [{ name: "plan", limit: row.limit, window: row.window }] });
  return { tenant, keys, callsBefore: await limiterService(edge, `calls?tenant=${encodeURIComponent(tenant)}`, "GET") };
}

/** One row's figures from its load, the upstream's arrivals and the gateways' log. */
async function figures(edge, row, prep, requests, load, arrivals, idPrefix, spanMs, core) {
  const t = tally({ load, arrived: arrivalsByRequest(arrivals, `${idPrefix}-`), otherBusy: core.otherBusy });
  const received = logTimes(edge.log, `${idPrefix}-`, "receivedAt");
  const admittedAt = logTimes(edge.log, `${idPrefix}-`, "admittedAt");
  const { status, slot } = load.records;
  const w = row.windowSec * 1000;
  // Every sent request, in the order the gateway received them, with its key (for the hog's split).
  const byReceipt = [];
  let unreceived = 0;
  for (let n = 0; n < load.sent; n++) {
    const at = received.get(`${idPrefix}-${n}`);
    if (at === undefined) unreceived++;
    else byReceipt.push({ at, n, ok: status[n] >= 200 && status[n] < 300, key: requests[slot[n]].key });
  }
  byReceipt.sort((a, b) => a.at - b.at);
  const exact = exactAdmissions(byReceipt.map((r) => r.at), row.limit, w);
  // An admission the gateway logged no time for (admitted without a permit) counts at its receive time.
  const admissions = byReceipt.filter((r) => r.ok).map((r) => admittedAt.get(`${idPrefix}-${r.n}`) ?? r.at);
  const untimed = byReceipt.filter((r) => r.ok && !admittedAt.has(`${idPrefix}-${r.n}`)).length;
  const callsAfter = await limiterService(edge, `calls?tenant=${encodeURIComponent(prep.tenant)}`, "GET");
  const calls = Object.fromEntries(Object.entries(callsAfter).map(([m, n]) => [m, n - (prep.callsBefore[m] ?? 0)]));
  const exactAdmitted = exact.reduce((a, b) => a + b, 0);
  const split = (pred) => ({ offered: byReceipt.filter(pred).length, admitted: byReceipt.filter((r) => pred(r) && r.ok).length, exactAdmitted: byReceipt.filter((r, i) => pred(r) && exact[i]).length });
  const failures = [...t.failures, ...(unreceived ? [`${unreceived} requests without a receive time in the log`] : [])];
  return {
    name: row.name,
    demand: row.demand,
    isolates: SPARSE_ISOLATES,
    delayMs: SPARSE_DELAY_MS,
    limit: row.limit,
    windowSec: row.windowSec,
    offered: load.sent,
    admitted: t.okDone.length,
    exactAdmitted,
    admittedVsExact: exactAdmitted ? t.okDone.length / exactAdmitted : null,
    maxAdmittedInWindow: maxInWindow(sortedTimes(admissions), w),
    limiterCalls: callCount(calls),
    p50Ms: t.p50Ms,
    // extras
    load: row.load,
    policy: `${row.limit}/${row.window}`,
    keys: SPARSE_KEYS,
    seed: row.seed,
    windowsMeasured: spanMs / w,
    seconds: load.seconds,
    p99Ms: t.p99Ms,
    maxExactInWindow: maxInWindow(sortedTimes(byReceipt.filter((_, i) => exact[i]).map((r) => r.at)), w),
    ...(row.demand === "hog" ? { hogKey: split((r) => r.key === 0), otherKeys: split((r) => r.key !== 0) } : {}),
    skipped: load.skipped,
    serverCoreBusy: core.busy,
    serverCoreOtherBusy: core.otherBusy,
    statusCounts: t.statusCounts,
    limiterCallsByMethod: calls,
    admittedWithoutTime: untimed,
    duplicates: t.duplicates,
    lost: t.lost,
    forwardedRefused: t.forwardedRefused,
    failures,
    notes: [...(untimed ? [`${untimed} admitted without a logged admittedAt (counted at their receive time)`] : []), ...t.notes.filter((n) => !t.failures.includes(n)), ...failures],
  };
}

/**
 * Starts the rows' own stack (8 isolates, receive times logged) and prepares every row's tenant (keys and
 * policy) through isolate 0; resolves { run, stop }. `run()` waits until the keys have reached every
 * isolate's KV (KV_PROPAGATION_MS after they were made: the keys of an integrator who has had them a while,
 * so the rows measure the limiter and not first lookups in the key directory), then runs every row at once
 * and resolves { rows, meta }. Start it early and other work covers the wait. `only` (a substring of the
 * row names) limits the rows, for development.
 */
export async function startSparse({ quick, configPath, bundleDir, tmp, storage, upstream, tag, only }) {
  const rows = sparseRows(quick).filter((r) => !only || r.name.includes(only));
  if (rows.length === 0) throw new Error(`no sparse row name contains ${only}`);
  const spanMs = WINDOWS * Math.max(...rows.map((r) => r.windowSec)) * 1000;
  const edge = await startEdgeGateways({ isolates: SPARSE_ISOLATES, configPath, bundleDir, dir: join(tmp, "edge-sparse"), storageDir: join(storage, "edge-sparse"), upstreamUrl: upstream.url, receiveLog: true });
  let preps, warm, readyAt;
  try {
    await limiterService(edge, `delay?ms=${SPARSE_DELAY_MS}`);
    warm = await keyHeaders(edge, `bench-edge-sparse-warm-${tag}`);
    preps = [];
    for (const row of rows) preps.push(await prepare(edge, row, tag));
    readyAt = performance.now() + KV_PROPAGATION_MS + 500;
  } catch (err) {
    await edge.stop();
    throw err;
  }

  async function run() {
    await sleep(Math.max(0, readyAt - performance.now()));
    // Warm-up on another tenant: every isolate's code compiled, the object class's too; the rows start cold.
    await pacedLoad({ urls: edge.gatewayUrls, path: PATH, headers: warm, rate: 100, durationMs: quick ? 1000 : 2000, idPrefix: `es-warm-${tag}` });
    await upstream.call("reset", { log: true });
    process.stdout.write(`edge: ${rows.length} sparse/hog rows at once, ${SPARSE_ISOLATES} isolates x ${SPARSE_KEYS} keys, D=${SPARSE_DELAY_MS} ms, ${spanMs / 1000} s ... `);
    const plans = rows.map((row, i) => ({ row, prep: preps[i], requests: schedule(row, spanMs), idPrefix: `es${i}-${tag}` }));
    const coreBusy = () => (SERVER_CORE === undefined ? 0 : coreSeconds(SERVER_CORE).busy);
    const [cpu0, core0, t0] = [cpuSeconds(edge.pid), coreBusy(), performance.now()];
    const loads = await Promise.all(
      plans.map(({ prep, requests, idPrefix }) =>
        scheduledLoad({
          urls: edge.gatewayUrls,
          path: PATH,
          count: requests.length,
          dueOffsetMs: (i) => requests[i].atMs,
          route: (i) => ({ url: requests[i].isolate, headers: prep.keys[requests[i].key] }),
          durationMs: spanMs,
          idPrefix,
        }),
      ),
    );
    const [cpu, seconds] = [cpuSeconds(edge.pid) - cpu0, (performance.now() - t0) / 1000];
    // The stack's share of the server core, and what else ran on it (other processes: a noise indicator).
    const core = { busy: cpu / seconds, otherBusy: Math.max(0, (coreBusy() - core0 - cpu) / seconds) };
    await sleep(200); // answers a lease exchange may still send in waitUntil
    const { arrivals } = await upstream.call("arrivals");
    const out = [];
    for (const [i, p] of plans.entries()) out.push(await figures(edge, p.row, p.prep, p.requests, loads[i], arrivals, p.idPrefix, spanMs, core));
    console.log(out.map((r) => `${r.name}: ${r.admitted}/${r.exactAdmitted}`).join(", "));
    const meta = { isolates: SPARSE_ISOLATES, keys: SPARSE_KEYS, delayMs: SPARSE_DELAY_MS, spanSec: spanMs / 1000, windows: quick ? "shortened (--quick): 100/6s and 20/2s" : "as in issue 18: 100/1m and 20/10s", seedBase: SEED };
    return { rows: out, meta };
  }
  return { run, stop: () => edge.stop() };
}
