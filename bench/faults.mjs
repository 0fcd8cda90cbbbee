/**
 * Load and fault runs: steady load on one admitted tenant (high limit) while the upstream or the limiter
 * misbehaves, phase by phase, each fault followed by a recovery phase. Every response is checked:
 *
 *   must be 0   non-2xx bodies that are not the envelope (JSON content type, error, code, details), responses
 *               without their X-Request-Id, bodies or headers carrying upstream text (lib/checks.mjs markers),
 *               requests reaching the upstream twice, 2xx whose request never reached it, the gateway's own
 *               refusals (429, 503) reaching it
 *   reported    outcomes per phase against the documented ones, latency, time to the first 2xx after the fault
 *               ends and time from which every request got a 2xx again; for each unexpected outcome, the
 *               reason the gateway logged for that request id
 *
 * Two gateway instances, both with UPSTREAM_TIMEOUT_MS_PSA=500 and RATE_LIMIT_TIMEOUT_MS=200: fail open
 * (every fault) and fail closed (the limiter faults). Upstream faults are modes of lib/upstream.mjs; limiter
 * faults are lib/limiter-probe.mjs (the object taken down, or answering after 2 s).
 *
 *   node bench/faults.mjs [--quick] [--keep]      (or: node bench/run.mjs --faults-only)
 * Writes bench/results/faults.json and faults.md.
 */
import { setTimeout as sleep } from "node:timers/promises";
import { fileURLToPath } from "node:url";
import { envelopeCode, leaksUpstream, UPSTREAM_OK_BODY } from "./lib/checks.mjs";
import { loggedReasons, markdown, summarize } from "./lib/fault-report.mjs";
import { closedLoop, monoMs } from "./lib/http-load.mjs";
import { stopPid } from "./lib/proc.mjs";
import { gatewayBundle, sourceState, standalone, startGateway, startUpstream, writeResult } from "./lib/stack.mjs";

const CONNECTIONS = 12;
const TIMEOUTS = { UPSTREAM_TIMEOUT_MS_PSA: "500", RATE_LIMIT_TIMEOUT_MS: "200" };
const SLOW_UPSTREAM_MS = 1500; // three times the product timeout

const upstreamFault = (mode, expect) => ({
  name: `upstream ${mode}`,
  expect,
  start: ({ upstream }) => upstream.call("mode", { mode, delayMs: SLOW_UPSTREAM_MS }),
  end: ({ upstream }) => upstream.call("mode", { mode: "ok" }),
});
const limiterFault = (mode, expect) => ({ name: `limiter ${mode}`, expect, start: ({ gw }) => gw.limiterFault(mode), end: ({ gw }) => gw.limiterFault("none") });

// Expected outcomes (docs/errors.md, docs/rate-limiting.md). "200 no limiter": admitted without a limiter
// answer (no RateLimit header); "200 body cut": the status was sent before the upstream failed mid-body.
const INSTANCES = [
  {
    name: "fail-open",
    vars: { ...TIMEOUTS, RATE_LIMIT_FAIL_MODE: "open" },
    faults: [
      upstreamFault("slow", "504 GATEWAY_TIMEOUT"),
      upstreamFault("refuse", "502 BAD_GATEWAY"),
      upstreamFault("html-502", "502 BAD_GATEWAY"),
      upstreamFault("json-500", "502 BAD_GATEWAY"),
      upstreamFault("truncated-200", "200 body cut"),
      upstreamFault("truncated-500", "502 BAD_GATEWAY"),
      upstreamFault("drop", "502 BAD_GATEWAY"),
      limiterFault("down", "200 no limiter"),
      limiterFault("slow", "200 no limiter"),
    ],
  },
  {
    name: "fail-closed",
    vars: { ...TIMEOUTS, RATE_LIMIT_FAIL_MODE: "closed" },
    faults: [limiterFault("down", "503 SERVICE_UNAVAILABLE"), limiterFault("slow", "503 SERVICE_UNAVAILABLE")],
  },
];

/** One response, reduced to what the checks need. */
function classify(r) {
  const is2xx = r.status >= 200 && r.status < 300;
  const code = r.status && !is2xx ? envelopeCode(r.headers.get("content-type"), r.body) : null;
  let outcome = r.status === 0 ? "no response" : `${r.status}${code ? ` ${code}` : ""}`;
  if (r.status && r.body === null) outcome += " body cut";
  else if (is2xx && r.body !== UPSTREAM_OK_BODY) outcome += " body altered"; // e.g. cut short but looking complete
  else if (is2xx && !r.headers.has("ratelimit")) outcome += " no limiter";
  if ((r.status === 429 || r.status === 503) && !/^\d+$/.test(r.headers.get("retry-after") ?? "")) outcome += " no Retry-After";
  const headerText = r.headers ? [...r.headers.values()].join("\n") : "";
  return {
    id: r.id,
    sentMs: r.sentMs,
    doneMs: r.doneMs,
    outcome,
    code,
    ok: outcome === "200",
    badEnvelope: r.status !== 0 && !is2xx && r.body !== null && code === null,
    noRequestId: r.status !== 0 && r.headers.get("x-request-id") !== r.id,
    leak: leaksUpstream(r.body) || leaksUpstream(headerText),
    error: r.error,
    body: outcome === "200" ? undefined : r.body?.slice(0, 300), // a sample for the report
  };
}

async function runInstance(inst, { upstream, configPath, bundle, tmp, storage, seconds }) {
  const gw = await startGateway({ name: `faults-${inst.name}`, configPath, bundleDir: bundle, dir: tmp, storageDir: storage, upstreamUrl: upstream.url, vars: inst.vars });
  try {
    const url = `${gw.url}/psa/tickets`;
    const headers = await gw.keyHeaders(`bench-faults-${inst.name}`);
    const idPrefix = `flt-${inst.name}-${Date.now().toString(36)}`;
    // Warm-up (key cache, limiter object, connection pools), not checked.
    await closedLoop({ url, headers, connections: CONNECTIONS, durationMs: 1000, maxRequests: 20_000, idPrefix: `${idPrefix}-w`, onResponse: () => {} });
    await upstream.call("reset", { log: true });
    const responses = [];
    const stop = new AbortController();
    const bound = (1 + 2 * inst.faults.length) * seconds * 1000 + 60_000;
    const load = closedLoop({ url, headers, connections: CONNECTIONS, durationMs: bound, maxRequests: 1_000_000, idPrefix, signal: stop.signal, onResponse: (r) => responses.push(classify(r)) });
    // A phase starts when its switch begins and is in force (effectiveMs) once the switch has been acknowledged.
    const phases = [];
    const phase = async (name, expect, toggle) => {
      const startMs = monoMs();
      if (phases.length) phases.at(-1).endMs = startMs;
      await toggle?.({ upstream, gw });
      phases.push({ name, expect, startMs, effectiveMs: monoMs() });
      await sleep(seconds * 1000);
    };
    await phase("baseline", "200");
    for (const f of inst.faults) {
      await phase(f.name, f.expect, f.start);
      await phase("recovery", "200", f.end);
    }
    phases.at(-1).endMs = monoMs();
    stop.abort();
    await load;
    await sleep(200);
    const { arrivals: flat } = await upstream.call("arrivals");
    const arrivals = new Map();
    for (let i = 0; i < flat.length; i += 3) arrivals.set(flat[i], (arrivals.get(flat[i]) ?? 0) + 1);
    const reasons = loggedReasons(gw.log);
    const phaseResults = phases.map((p) => summarize(p, responses, arrivals, reasons));
    const must = ["badEnvelope", "noRequestId", "leaks", "duplicates", "lost", "refusedForwarded"];
    const failures = phaseResults.flatMap((p, i) => [
      ...must.filter((k) => p[k]).map((k) => `${p.name} (#${i}): ${p[k]} ${k}`),
      ...(p.recovery && p.recovery.firstOkMs === null ? [`${p.name} (#${i}): no 2xx after the fault ended`] : []),
    ]);
    return { name: inst.name, vars: inst.vars, connections: CONNECTIONS, phaseSeconds: seconds, sent: responses.length, phases: phaseResults, failures, passed: failures.length === 0 };
  } finally {
    await gw.stop();
  }
}

/** The section: one upstream, the two gateway instances in turn, results written; { passed }. */
export async function run({ quick, configPath, bundleDir, tmp, storage }) {
  const upstream = await startUpstream();
  try {
    const bundle = await gatewayBundle(configPath, tmp, bundleDir);
    const results = [];
    for (const inst of INSTANCES) {
      process.stdout.write(`faults: ${inst.name} gateway, ${inst.faults.length} faults ... `);
      const r = await runInstance(inst, { upstream, configPath, bundle, tmp, storage, seconds: quick ? 1.5 : 3 });
      console.log(r.passed ? "pass" : `FAIL (${r.failures.join("; ")})`);
      results.push(r);
    }
    const meta = { mode: quick ? "quick" : "full", date: new Date().toISOString(), source: sourceState(), slowUpstreamMs: SLOW_UPSTREAM_MS };
    const md = markdown(results, meta);
    writeResult("faults", { meta, results }, md);
    console.log("\n" + md);
    return { passed: results.every((r) => r.passed) };
  } finally {
    await stopPid(upstream.pid);
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) await standalone(run);
