/**
 * Limiter accuracy under load: one tenant with small limits (set through the admin API), 32 connections of
 * demand far above them, over several windows. For each policy (limit L, window W):
 *
 *   max in any rolling W   the most admissions in any closed interval of length W, seen three ways: the
 *                          limiter's own clock (each admission's time in the isolate that admitted it from a leased permit, read by
 *                          lib/limiter-probe.mjs), the upstream's arrival times, the client's 2xx completions.
 *                          The limiter's view must be <= L: that is the guarantee (docs/rate-limiting.md).
 *   closest approach       min over i of (t[i+L] - t[i]) - W: how near L+1 admissions came to one window
 *                          (> 0: never within one).
 *   utilization            W / mean(t[i+L] - t[i]) on the limiter's clock, binding policy only: admitted per
 *                          W over L while demand exceeds it. Counting spans W + W/60, so ~98.4%; must be >= 95%.
 *
 * The upstream and the client see an admission later than the limiter made it, each by a varying delay (the
 * RPC's answer, the isolate's queue, the proxy, loopback); their counts show what a product sees, and how far
 * that differs from the limiter's, and are reported, not judged. Exactness is judged: the limiter's
 * admissions, the 2xx and the upstream's arrivals are the same requests, once each; no 429 is forwarded;
 * every response has its X-Request-Id; every error is the envelope.
 *
 *   node bench/accuracy.mjs [--quick] [--keep]      (or: node bench/run.mjs --accuracy-only)
 * Writes bench/results/accuracy.json and accuracy.md.
 */
import { setTimeout as sleep } from "node:timers/promises";
import { fileURLToPath } from "node:url";
import { envelopeCode, leaksUpstream } from "./lib/checks.mjs";
import { closedLoop } from "./lib/http-load.mjs";
import { stopPid } from "./lib/proc.mjs";
import { gatewayBundle, sourceState, standalone, startGateway, startUpstream, writeResult } from "./lib/stack.mjs";

const CONNECTIONS = 32;
const MAX_REQUESTS = 300_000; // a bound, far above what the gateway answers in a run
const burst = { name: "burst", limit: 50, window: "2s" };
const RUNS = [
  { name: "50 per 2s, server saturated", policies: [burst], seconds: 24, quickSeconds: 10 },
  // ~10 requests/s per connection: ~12x the limit's 25/s, with the server core mostly idle (less queueing).
  { name: "50 per 2s, paced demand", policies: [burst], pauseMs: 100, seconds: 24, quickSeconds: 10 },
  { name: "40 per 1s + 150 per 5s, server saturated", policies: [{ name: "second", limit: 40, window: "1s" }, { name: "fivesec", limit: 150, window: "5s" }], seconds: 26, quickSeconds: 12 },
];
const windowMs = (w) => Number(w.slice(0, -1)) * { s: 1000, m: 60_000 }[w.at(-1)];
const sorted = (a) => Float64Array.from(a).sort();
const pct = (a, p) => (a.length ? a[Math.min(a.length - 1, Math.floor(p * a.length))] : null);

/** Most points in any closed interval of length w, and min over i of (t[i+L] - t[i]) - w. `t` sorted. */
function rolling(t, limit, w) {
  let max = 0;
  for (let i = 0, j = 0; i < t.length; i++) {
    while (j < t.length && t[j] <= t[i] + w) j++;
    max = Math.max(max, j - i);
  }
  let margin = Infinity;
  for (let i = 0; i + limit < t.length; i++) margin = Math.min(margin, t[i + limit] - t[i] - w);
  return { max, margin };
}

/** W / mean time to admit L more after any admission: admitted per W over L. */
function utilization(t, limit, w) {
  if (t.length <= limit) return null;
  let sum = 0;
  for (let i = 0; i + limit < t.length; i++) sum += t[i + limit] - t[i];
  return w / (sum / (t.length - limit));
}

async function measure(gw, upstream, spec, index, quick) {
  const tenant = `bench-accuracy-${index}-${Date.now().toString(36)}`; // a fresh limiter object per run
  const headers = await gw.keyHeaders(tenant);
  await gw.setPolicies(tenant, spec.policies);
  await gw.limiterAdmissions(); // forget anything before this run
  await upstream.call("reset", { log: true });

  const admitted = new Map(); // request id -> 2xx completion (monotonic ms)
  const refused = new Map(); // request id -> status
  const c = { statuses: {}, noRequestId: 0, badEnvelope: 0, no429RetryAfter: 0, leaks: 0, errors: 0 };
  const load = await closedLoop({
    url: `${gw.url}/psa/tickets`,
    headers,
    connections: CONNECTIONS,
    pauseMs: spec.pauseMs,
    durationMs: (quick ? spec.quickSeconds : spec.seconds) * 1000,
    maxRequests: MAX_REQUESTS,
    idPrefix: `acc${index}-${tenant.slice(-8)}`,
    onResponse(r) {
      c.statuses[r.status] = (c.statuses[r.status] ?? 0) + 1;
      if (r.error) c.errors++;
      if (r.status >= 200 && r.status < 300) admitted.set(r.id, r.doneMs);
      else refused.set(r.id, r.status);
      if (r.status && r.headers.get("x-request-id") !== r.id) c.noRequestId++;
      if (r.status >= 300 && envelopeCode(r.headers.get("content-type"), r.body) === null) c.badEnvelope++;
      if (r.status === 429 && !/^\d+$/.test(r.headers.get("retry-after") ?? "")) c.no429RetryAfter++;
      if (leaksUpstream(r.body)) c.leaks++;
    },
  });
  await sleep(100);
  const limiterT = sorted(await gw.limiterAdmissions());
  const { arrivals } = await upstream.call("arrivals"); // [id, monoMs, wallMs, ...]

  const seen = new Set();
  let duplicates = 0;
  const forwardedRefused = {};
  const upstreamT = [];
  const upstreamWall = [];
  for (let i = 0; i < arrivals.length; i += 3) {
    const id = arrivals[i];
    if (seen.has(id)) duplicates++;
    seen.add(id);
    upstreamT.push(arrivals[i + 1]);
    upstreamWall.push(arrivals[i + 2]);
    if (!admitted.has(id)) forwardedRefused[refused.get(id) ?? "unknown"] = (forwardedRefused[refused.get(id) ?? "unknown"] ?? 0) + 1;
  }
  const lost = [...admitted.keys()].filter((id) => !seen.has(id)).length;
  const views = { limiter: limiterT, upstream: sorted(upstreamT), client: sorted(admitted.values()) };
  // The k-th admission against the k-th upstream arrival (both Date.now ms): how late products see admissions.
  const wall = sorted(upstreamWall);
  const lag = sorted(Array.from({ length: Math.min(wall.length, limiterT.length) }, (_, k) => wall[k] - limiterT[k]));

  const binding = spec.policies.reduce((a, b) => (b.limit / windowMs(b.window) < a.limit / windowMs(a.window) ? b : a));
  const policies = spec.policies.map((p) => {
    const w = windowMs(p.window);
    const byView = Object.fromEntries(Object.entries(views).map(([k, t]) => [k, rolling(t, p.limit, w)]));
    return { ...p, windowMs: w, ...byView, utilization: p === binding ? utilization(limiterT, p.limit, w) : null };
  });
  const unexpected = Object.entries(c.statuses).filter(([s]) => s !== "200" && s !== "429").reduce((n, [, v]) => n + v, 0);
  const failures = [
    ...policies.filter((p) => p.limiter.max > p.limit).map((p) => `${p.name}: the limiter admitted ${p.limiter.max} in one rolling ${p.window} (limit ${p.limit})`),
    ...policies.filter((p) => p.utilization !== null && p.utilization < 0.95).map((p) => `${p.name}: utilization ${(p.utilization * 100).toFixed(1)}% < 95%`),
    ...(limiterT.length !== admitted.size ? [`the limiter admitted ${limiterT.length}, the client got ${admitted.size} 2xx`] : []),
    ...(duplicates ? [`${duplicates} requests reached the upstream twice`] : []),
    ...(lost ? [`${lost} 2xx never reached the upstream`] : []),
    ...Object.entries(forwardedRefused).map(([s, n]) => `${n} requests answered ${s} reached the upstream`),
    ...(unexpected ? [`${unexpected} responses neither 200 nor 429`] : []),
    ...["noRequestId", "badEnvelope", "no429RetryAfter", "leaks", "errors"].filter((k) => c[k]).map((k) => `${c[k]} ${k}`),
  ];
  const lagMs = { p50: pct(lag, 0.5), p99: pct(lag, 0.99), max: pct(lag, 1) };
  return { name: spec.name, tenant, seconds: load.seconds, sent: load.sent, offeredRps: load.sent / load.seconds, counts: c, limiterAdmissions: limiterT.length, admitted: admitted.size, upstreamArrivals: upstreamT.length, duplicates, lost, forwardedRefused, policies, lagMs, failures, passed: failures.length === 0 };
}

const ms = (v) => (v === Infinity || v === null ? "–" : `${v >= 0 ? "+" : ""}${v.toFixed(1)} ms`);
const views = (p, f) => ["limiter", "upstream", "client"].map((k) => f(p[k])).join(" / ");

function markdown(results, meta) {
  const lines = [
    `# Limiter accuracy under load (${meta.mode})`,
    "",
    `- Date: ${meta.date}; gateway bundle from ${meta.source}`,
    `- ${CONNECTIONS} connections, one tenant, GET /psa/tickets, closed loop (lib/http-load.mjs); limits set with PUT /__gateway/admin/tenants/<t>/rate-limit`,
    "",
  ];
  for (const r of results) {
    const s = r.counts.statuses;
    const other = Object.keys(s).filter((k) => k !== "200" && k !== "429").map((k) => `, ${k}×${s[k]}`).join("");
    lines.push(
      `## ${r.name}: ${r.passed ? "PASS" : "FAIL"}`,
      "",
      `${r.sent} requests in ${r.seconds.toFixed(1)} s (${r.offeredRps.toFixed(0)} req/s offered): 200×${s[200] ?? 0}, 429×${s[429] ?? 0}${other}. ` +
        `Limiter admissions ${r.limiterAdmissions}, upstream arrivals ${r.upstreamArrivals} (${r.duplicates} duplicated, ${r.lost} 2xx lost, ` +
        `${Object.values(r.forwardedRefused).reduce((a, b) => a + b, 0)} refused requests forwarded). Without their X-Request-Id: ${r.counts.noRequestId}; ` +
        `non-envelope errors: ${r.counts.badEnvelope}; 429 without Retry-After: ${r.counts.no429RetryAfter}; upstream text: ${r.counts.leaks}; network errors: ${r.counts.errors}. ` +
        `Admission → upstream arrival (k-th against k-th): p50 ${r.lagMs.p50} / p99 ${r.lagMs.p99} / max ${r.lagMs.max} ms.`,
      "",
      "| policy | max admitted in any rolling window: limiter / upstream / client | closest approach of L+1 admissions to one window: limiter / upstream / client | utilization |",
      "|---|--:|--:|--:|",
      ...r.policies.map((p) => `| ${p.limit} per ${p.window} | ${views(p, (v) => v.max)} | ${views(p, (v) => ms(v.margin))} | ${p.utilization === null ? "not binding" : `${(p.utilization * 100).toFixed(1)}%`} |`),
      "",
      ...(r.failures.length ? ["Failures:", ...r.failures.map((f) => `- ${f}`), ""] : []),
    );
  }
  lines.push(
    "limiter: each admission's time in the isolate that admitted it from a leased permit (Date.now(), whole ms), the time the guarantee is about;",
    "this is the view the guarantee is about (must be <= L). upstream: when the admitted request reached the product",
    "(CLOCK_MONOTONIC); client: when its 2xx completed. Both come later than the admission by a varying delay, so a",
    "burst admitted just after a window's oldest admissions expired can look closer to them than it was: these two views",
    "show what a product can observe, not what the limiter decided. Utilization is on the limiter's clock.",
  );
  return lines.join("\n") + "\n";
}

/** The section: its own upstream and gateway instance, every run, results written; { passed }. */
export async function run({ quick, configPath, bundleDir, tmp, storage }) {
  const upstream = await startUpstream();
  let gw;
  try {
    const bundle = await gatewayBundle(configPath, tmp, bundleDir);
    gw = await startGateway({ name: "accuracy", configPath, bundleDir: bundle, dir: tmp, storageDir: storage, upstreamUrl: upstream.url });
    const results = [];
    for (const [i, spec] of RUNS.entries()) {
      process.stdout.write(`accuracy: ${spec.name} ... `);
      const r = await measure(gw, upstream, spec, i, quick);
      console.log(r.passed ? "pass" : `FAIL (${r.failures.join("; ")})`);
      results.push(r);
    }
    const meta = { mode: quick ? "quick" : "full", date: new Date().toISOString(), source: sourceState() };
    const md = markdown(results, meta);
    writeResult("accuracy", { meta, results }, md);
    console.log("\n" + md);
    return { passed: results.every((r) => r.passed) };
  } finally {
    if (gw) await gw.stop();
    await stopPid(upstream.pid);
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) await standalone(run);
