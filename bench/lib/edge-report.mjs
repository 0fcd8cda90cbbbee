/**
 * The edge section's arithmetic and report: the most admissions in any interval of length W, utilization,
 * percentiles, the targets (met / missed) and the Markdown table. Pure functions over timestamps.
 */

/** Most of the sorted times `t` in any closed interval of length `w` (two pointers, exact). */
export function maxInWindow(t, w) {
  let max = 0;
  for (let i = 0, j = 0; j < t.length; j++) {
    while (t[j] - t[i] > w) i++;
    max = Math.max(max, j - i + 1);
  }
  return max;
}

/**
 * Admissions per W over L while demand exceeds the limit: W / mean over i of (t[i+L] - t[i]), the mean time
 * the tenant takes to get L more admissions after any admission (as the accuracy section measures it). Free
 * of edge effects (a first burst, a cut-off last window); 1 is L per W exactly; the sliding-window limiter
 * counts each admission for W + W/60, so ~0.984 at best. Null with L or fewer admissions.
 */
export function utilization(t, limit, w) {
  if (t.length <= limit) return null;
  let sum = 0;
  for (let i = 0; i + limit < t.length; i++) sum += t[i + limit] - t[i];
  return w / (sum / (t.length - limit));
}

/** The p-quantile (0..1) of sorted values, nearest rank below; null when empty. */
export function quantile(sorted, p) {
  return sorted.length ? sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))] : null;
}

const HALF_CALL_SHARE = 0.02;
const P50_SPREAD_MS = 2;
const MIN_UTILIZATION = 0.95;
const MIN_VS_EXACT = 0.99;
const SPARSE = new Set(["sparse", "hog"]);
export const isSparse = (r) => SPARSE.has(r.demand);

/**
 * The issue's targets over the runs: { name, met, detail }[]. "maxAdmittedInWindow <= limit" (every run) and
 * the sparse and hog rows' "admittedVsExact >= 0.99" fail the section (`judged`); the others are reported.
 */
export function targets(runs) {
  const out = [];
  const tag = (r) => r.name ?? `${r.demand} D=${r.delayMs}`;
  const over = runs.filter((r) => r.maxAdmittedInWindow > r.limit);
  out.push({ name: "every run: maxAdmittedInWindow <= limit", judged: true, met: over.length === 0, detail: over.map((r) => `${tag(r)}: ${r.maxAdmittedInWindow} > ${r.limit}`).join("; ") || "all runs" });
  for (const r of runs.filter((x) => x.demand === "half")) {
    const share = r.admitted ? r.limiterCalls / r.admitted : null;
    out.push({ name: `half D=${r.delayMs}: limiterCalls <= 2% of admitted`, met: share !== null && share <= HALF_CALL_SHARE, detail: share === null ? "nothing admitted" : `${r.limiterCalls} calls / ${r.admitted} admitted = ${(share * 100).toFixed(1)}%` });
  }
  const half = (d) => runs.find((r) => r.demand === "half" && r.delayMs === d);
  const [d0, d75] = [half(0), half(75)];
  if (d0 && d75) {
    const diff = d75.p50Ms !== null && d0.p50Ms !== null ? d75.p50Ms - d0.p50Ms : null;
    out.push({ name: "half: p50Ms at D=75 within 2 ms of D=0", met: diff !== null && Math.abs(diff) <= P50_SPREAD_MS, detail: diff === null ? "no latency" : `${f(d75.p50Ms, 2)} vs ${f(d0.p50Ms, 2)} ms (${diff >= 0 ? "+" : ""}${diff.toFixed(2)} ms)` });
  }
  for (const r of runs.filter((x) => x.demand === "saturating")) {
    out.push({ name: `saturating D=${r.delayMs}: utilization >= 0.95`, met: r.utilization !== null && r.utilization >= MIN_UTILIZATION, detail: r.utilization === null ? "L or fewer admitted" : r.utilization.toFixed(3) });
  }
  for (const r of runs.filter(isSparse)) {
    const v = r.admittedVsExact;
    out.push({ name: `${r.name}: admittedVsExact >= 0.99`, judged: true, met: v !== null && v >= MIN_VS_EXACT, detail: `${r.admitted} admitted / ${r.exactAdmitted} exact = ${v === null ? "–" : v.toFixed(3)}` });
  }
  return out;
}

const f = (v, digits = 0) => (v === null || v === undefined || Number.isNaN(v) ? "–" : v.toFixed(digits));

const statuses = (s) => Object.entries(s).map(([k, n]) => `${k === "0" ? "no response" : k}×${n}`).join(", ");

/** The half/saturating runs' table (with the ref-pass floor) and how to read it. */
function classicMarkdown({ meta, runs, refPass }) {
  const lines = [
    `- ${meta.isolates} gateway isolates (Worker services in one workerd on the server core), one limiter service holding the Durable Object; every call into the object waits D ms each way (lib/edge-limiter.mjs)`,
    `- One tenant per run (a fresh integration key; another tenant warms up first), GET /psa/tickets, ${meta.rate} req/s offered open-loop (paced), round robin over the isolates`,
    `- half: RATE_LIMIT_DEFAULT=${meta.half.policy}, ${meta.half.seconds} s; saturating: RATE_LIMIT_DEFAULT=${meta.saturating.policy}, ${meta.saturating.seconds} s`,
    "",
    "| target | demand | D ms | limit / W | sent | admitted | limiter calls (per admitted) | max admitted in W | max arrived in W | utilization | p50 ms | p99 ms | statuses | server core | notes |",
    "|---|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|---|--:|---|",
    ...runs.map((r) =>
      [
        "",
        "gateway",
        r.demand,
        r.delayMs,
        `${r.limit} / ${r.windowSec}s`,
        r.sent,
        r.admitted,
        `${r.limiterCalls} (${r.admitted ? (r.limiterCalls / r.admitted).toFixed(3) : "–"})`,
        r.maxAdmittedInWindow,
        r.maxArrivedInWindow,
        r.utilization === null ? "–" : r.utilization.toFixed(3),
        f(r.p50Ms, 2),
        f(r.p99Ms, 2),
        statuses(r.statusCounts),
        `${f(r.serverCoreBusy * 100)}%`,
        r.notes.join("; ").replaceAll("|", "/"),
        "",
      ].join(" | ").trim(),
    ),
    ...(refPass
      ? [["", "ref-pass", refPass.demand, "–", "–", refPass.sent, refPass.ok, "–", "–", "–", "–", f(refPass.p50Ms, 2), f(refPass.p99Ms, 2), statuses(refPass.statusCounts), `${f(refPass.serverCoreBusy * 100)}%`, refPass.notes.join("; "), ""].join(" | ").trim()]
      : []),
    "",
    "admitted: 2xx responses. max admitted in W: the most admissions in any closed interval of length W, by the",
    "isolates' admission times (the gateways' log field admittedAt; one machine, one clock); max arrived in W: the same",
    "by the upstream's arrival times (maxReceivedInWindow in edge.json: by the client's receive times, jitter included).",
    "utilization (saturating): W / mean over i of (t[i+L] - t[i]) on the same 2xx times: admitted per W over L",
    "while demand exceeds it (1 = L per W). limiter calls: every call into the object during the run, all methods.",
    "Latency: completion minus the time the request was due (open loop), admitted requests only. ref-pass: the bare",
    "pass-through in the same setup (K isolates, one workerd), same rate: the floor for p50/p99.",
    "",
  ];
  return lines.join("\n");
}

/** The sparse and hog rows' table and how to read it. */
function sparseMarkdown(rows, m) {
  const lines = [
    `## Sparse demand and a hog: admitted against an exact sliding log`,
    "",
    `- ${m.isolates} gateway isolates in one workerd, the object D = ${m.delayMs} ms away; one tenant per row with ${m.keys} integration keys, all rows at once (different tenants), ${m.spanSec} s each; windows ${m.windows}`,
    "- Each request from a random (isolate, key) at seeded Poisson arrival times; hog: key 0 sends 2 L at 20 L per W from W/2 and stops, the other keys go on at 0.5 L",
    "",
    "| row | limit / W | windows | offered | admitted | exact | admitted / exact | max admitted in W | limiter calls | p50 ms | p99 ms | statuses | notes |",
    "|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|---|---|",
    ...rows.map((r) =>
      [
        "",
        r.name,
        `${r.limit} / ${r.windowSec}s`,
        r.windowsMeasured,
        r.offered,
        r.admitted,
        r.exactAdmitted,
        f(r.admittedVsExact, 3),
        r.maxAdmittedInWindow,
        r.limiterCalls,
        f(r.p50Ms, 2),
        f(r.p99Ms, 2),
        statuses(r.statusCounts),
        [...(r.hogKey ? [`hog key ${r.hogKey.admitted}/${r.hogKey.exactAdmitted}, others ${r.otherKeys.admitted}/${r.otherKeys.exactAdmitted} (admitted/exact)`] : []), ...r.notes].join("; ").replaceAll("|", "/"),
        "",
      ].join(" | ").trim(),
    ),
    "",
    "exact: what an exact sliding log admits for the same arrivals, by the times the gateway received them (logged in",
    "the isolate, lib/edge-received.mjs): a request is admitted when fewer than L admissions lie in the closed W before it.",
    "max admitted in W: the most admissions in any closed interval of length W by the isolates' admission times (log field",
    "admittedAt; one admitted without one counts at its receive time). limiter calls: the calls the row's tenant's object",
    "served during the load, all methods. Latency from when each request was due, admitted ones only.",
    "",
  ];
  return lines.join("\n");
}

/** The section's Markdown: the runs, the ref-pass floor, the sparse rows, the targets, how to read them. */
export function markdown({ meta, runs, refPass, checks }) {
  const classic = runs.filter((r) => !isSparse(r));
  const sparse = runs.filter(isSparse);
  return [
    `# Edge: K isolates, one tenant's Durable Object D ms away (${meta.mode})`,
    "",
    `- Date: ${meta.date}; gateway bundle from ${meta.source}`,
    ...(classic.length || refPass ? [classicMarkdown({ meta, runs: classic, refPass })] : [""]),
    ...(sparse.length ? [sparseMarkdown(sparse, meta.sparse)] : []),
    "## Targets",
    "",
    ...checks.map((c) => `- ${c.met ? "met" : c.judged ? "**FAILED**" : "missed"}: ${c.name} (${c.detail})`),
    "",
  ].join("\n");
}
