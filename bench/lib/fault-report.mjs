/**
 * The fault run's bookkeeping and report: per-phase aggregation of the checked responses, the gateway's logged
 * reasons per request id, and the Markdown (one table per gateway instance, then what differed from the
 * documented outcomes and why).
 */
import { readFileSync } from "node:fs";

// In this setup the upstream never answers 429 or 503: such a response is the gateway refusing, and must not
// have been forwarded.
const NEVER_FORWARDED = new Set(["RATE_LIMIT_EXCEEDED", "SERVICE_UNAVAILABLE"]);

/** Per request id, the reason (or code) the gateway logged: why an unexpected outcome happened. */
export function loggedReasons(logFile) {
  const reasons = new Map();
  for (const line of readFileSync(logFile, "utf8").split("\n")) {
    if (!line.startsWith("{")) continue;
    try {
      const l = JSON.parse(line);
      // An exception line (an error the gateway did not expect) says more than the request line's reason.
      if (l.requestId && l.msg === "exception") reasons.set(l.requestId, `exception: ${l.error?.name}: ${l.error?.message}`);
      else if (l.requestId && l.reason && !reasons.get(l.requestId)?.startsWith("exception")) reasons.set(l.requestId, l.reason);
    } catch {
      // not a log line of ours
    }
  }
  return reasons;
}

/**
 * Aggregates one phase. Every request sent in it counts for the must-be-0 checks. Outcomes, the expected
 * share and recovery use only the settled ones: sent after the switch into the phase had finished, answered
 * before the next switch began. The others saw a switch, and are listed apart.
 */
export function summarize(phase, responses, arrivals, reasons) {
  const mine = responses.filter((r) => r.sentMs >= phase.startMs && r.sentMs < phase.endMs);
  const settled = (r) => r.sentMs >= phase.effectiveMs && r.doneMs <= phase.endMs;
  const outcomes = {};
  const atSwitch = {};
  const unexpectedReasons = {};
  const samples = {}; // outcome -> one body
  const s = { sent: mine.length, settled: 0, forwarded: 0, duplicates: 0, lost: 0, refusedForwarded: 0, badEnvelope: 0, noRequestId: 0, leaks: 0, asExpected: 0 };
  for (const r of mine) {
    const n = arrivals.get(r.id) ?? 0;
    s.forwarded += n > 0;
    s.duplicates += n > 1;
    s.lost += r.outcome.startsWith("2") && n === 0;
    s.refusedForwarded += NEVER_FORWARDED.has(r.code) && n > 0;
    s.badEnvelope += r.badEnvelope;
    s.noRequestId += r.noRequestId;
    s.leaks += r.leak;
    if (!settled(r)) {
      atSwitch[r.outcome] = (atSwitch[r.outcome] ?? 0) + 1;
      continue;
    }
    s.settled++;
    outcomes[r.outcome] = (outcomes[r.outcome] ?? 0) + 1;
    if (r.body !== undefined) samples[r.outcome] ??= r.body;
    if (r.outcome === phase.expect) s.asExpected++;
    else {
      const why = `${r.outcome}: ${reasons.get(r.id) ?? r.error ?? "nothing logged"}`;
      unexpectedReasons[why] = (unexpectedReasons[why] ?? 0) + 1;
    }
  }
  const lat = mine.filter(settled).map((r) => r.doneMs - r.sentMs).sort((a, b) => a - b);
  const latencyMs = { p50: lat[Math.floor(lat.length / 2)] ?? null, max: lat.at(-1) ?? null };
  let recovery = null;
  if (phase.name === "recovery") {
    // From the moment the fault was certainly gone: the first clean 2xx (any request), and the send time
    // after which every settled request got one.
    const firstOk = responses.filter((r) => r.ok && r.doneMs >= phase.effectiveMs).reduce((t, r) => Math.min(t, r.doneMs), Infinity);
    const lastBad = mine.filter((r) => settled(r) && !r.ok).reduce((t, r) => Math.max(t, r.sentMs), phase.effectiveMs);
    recovery = { firstOkMs: firstOk === Infinity ? null : firstOk - phase.effectiveMs, allOkFromMs: lastBad - phase.effectiveMs };
  }
  return { ...phase, ...s, outcomes, atSwitch, unexpectedReasons, samples, latencyMs, recovery };
}


const f0 = (v) => (v === null || v === undefined ? "–" : v.toFixed(0));
const outcomes = (o) => Object.entries(o).sort((a, b) => b[1] - a[1]).map(([k, n]) => `${k} ×${n}`).join(", ") || "none";

function row(p) {
  const rec = p.recovery ? `${f0(p.recovery.firstOkMs)} / ${f0(p.recovery.allOkFromMs)} ms` : "";
  const share = p.settled ? `${((p.asExpected / p.settled) * 100).toFixed(0)}%` : "–";
  const atSwitch = Object.keys(p.atSwitch).length ? `; at a switch: ${outcomes(p.atSwitch)}` : "";
  const zeros = [p.badEnvelope, p.noRequestId, p.leaks, `${p.duplicates} / ${p.lost} / ${p.refusedForwarded}`].join(" | ");
  return `| ${p.name} | ${p.expect} | ${outcomes(p.outcomes)}${atSwitch} | ${share} | ${f0(p.latencyMs.p50)} / ${f0(p.latencyMs.max)} | ${p.forwarded} | ${zeros} | ${rec} |`;
}

export function markdown(results, meta) {
  const lines = [
    `# Gateway under load with faults (${meta.mode})`,
    "",
    `- Date: ${meta.date}; gateway bundle from ${meta.source}`,
    `- Load: closed loop, one tenant with the bench's never-reached limit, GET /psa/tickets; each phase ${results[0]?.phaseSeconds} s; phases by the time a request was sent`,
    `- Upstream faults (lib/upstream.mjs): slow = answers after ${meta.slowUpstreamMs} ms; refuse = listening socket and connections closed;`,
    "  html-502 = nginx HTML page; json-500 = invalid JSON with a hostname and a stack; truncated-200/-500 = Content-Length 4096, a",
    "  prefix, then the connection drops; drop = connection closed without a response",
    "- Limiter faults (lib/limiter-probe.mjs, bench-only entry in front of the bundle): down = the Durable Object is reset and cannot",
    "  be constructed (every RPC rejects); slow = admit() answers after 2 s (RATE_LIMIT_TIMEOUT_MS is 200)",
    "",
  ];
  for (const r of results) {
    const vars = Object.entries(r.vars).map(([k, v]) => `${k}=${v}`).join(", ");
    lines.push(
      `## ${r.name} gateway (${vars}; ${r.connections} connections): ${r.passed ? "PASS" : "FAIL"}`,
      "",
      "| phase | expected | responses settled in the phase; at a switch | as expected | p50 / max ms | reached upstream | non-envelope errors | no X-Request-Id | upstream text | dup / 2xx lost / refusals forwarded | recovery: first 2xx / all 2xx from |",
      "|---|---|---|--:|--:|--:|--:|--:|--:|--:|--:|",
      ...r.phases.map(row),
      "",
    );
    const odd = r.phases.filter((p) => p.settled && p.asExpected / p.settled < 0.95);
    if (odd.length) {
      lines.push("Outcomes other than expected in more than 5% of a phase, with the reason the gateway logged for those request ids:", "");
      for (const p of odd) {
        const top = Object.entries(p.unexpectedReasons).sort((a, b) => b[1] - a[1]).slice(0, 3);
        lines.push(`- ${p.name}: ${top.map(([why, n]) => `${n}× ${why.slice(0, 200)}`).join("; ")}`);
        for (const [outcome, body] of Object.entries(p.samples).filter(([o]) => o !== p.expect)) lines.push(`  - ${outcome} body: \`${body}\``);
      }
      lines.push("");
    }
    if (r.failures.length) lines.push("Failures:", ...r.failures.map((x) => `- ${x}`), "");
  }
  lines.push(
    "Settled: sent after the switch into the phase was acknowledged and answered before the next switch began; the",
    "others (sent during a switch, or still in flight at the next one) are listed as \"at a switch\" and excluded from",
    "\"as expected\" and recovery, but every request sent in the phase counts for the checks (envelope, X-Request-Id,",
    "upstream text, duplicates, losses, refusals forwarded). p50 / max: latency of settled requests. recovery: from the",
    "moment the fault was certainly gone, to the first clean 2xx (with the limiter's RateLimit header), and to the send",
    "time after which every settled request got one.",
  );
  return lines.join("\n") + "\n";
}
