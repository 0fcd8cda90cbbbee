/**
 * What every edge row does around its load: admin and limiter-service calls on an edge stack
 * (lib/edge-stack.mjs), the upstream's arrivals per request, times from the gateways' log lines, and the
 * tally of one load (statuses, latency, exactness of forwarding) with the failures that mean the row did
 * not measure the gateway.
 */
import { readFileSync } from "node:fs";
import { quantile } from "./edge-report.mjs";

/** An admin API call through one isolate of `edge` (the first unless told); the parsed answer. */
export async function edgeAdmin(edge, method, path, body, isolate = 0) {
  const res = await fetch(`${edge.gatewayUrls[isolate]}/__gateway/admin${path}`, {
    method,
    headers: { authorization: `Bearer ${edge.vars.ADMIN_SECRET}`, "content-type": "application/json" },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  if (!res.ok) throw new Error(`admin: ${method} ${path}: ${res.status} ${await res.text()}`);
  return res.json();
}

/** A new Read/Write PSA integration key for `tenant`, through the admin API of one gateway isolate. */
export async function keyHeaders(edge, tenant) {
  const { key } = await edgeAdmin(edge, "POST", `/tenants/${tenant}/keys`, { name: "bench-edge", access: { psa: "write" } });
  return { "x-integration-key": key };
}

/** A call on the limiter service's own socket (lib/edge-limiter.mjs): calls, reset, delay. */
export async function limiterService(edge, path, method = "POST") {
  const res = await fetch(`${edge.limiterUrl}/__edge/${path}`, { method });
  if (!res.ok) throw new Error(`limiter service: ${method} ${path}: ${res.status} ${await res.text()}`);
  return res.json();
}

/**
 * The upstream's arrivals ([id, monoMs, wallMs, ...]) of the ids `${prefix}${n}`: Map(n -> arrival times), on
 * CLOCK_MONOTONIC, or with `wall` on the wall clock (ms since the epoch: the isolates' `Date.now()` clock).
 */
export function arrivalsByRequest(arrivals, prefix, { wall = false } = {}) {
  const arrived = new Map();
  for (let i = 0; i < arrivals.length; i += 3) {
    if (typeof arrivals[i] !== "string" || !arrivals[i].startsWith(prefix)) continue;
    const n = Number(arrivals[i].slice(prefix.length));
    arrived.set(n, [...(arrived.get(n) ?? []), arrivals[i + (wall ? 2 : 1)]]);
  }
  return arrived;
}

/**
 * The numeric log field `field` of every gateway log line whose requestId starts with `prefix`: Map(requestId
 * -> value). Every isolate runs on this one machine, so their clocks are one clock.
 */
export function logTimes(logPath, prefix, field) {
  const out = new Map();
  for (const line of readFileSync(logPath, "utf8").split("\n")) {
    if (!line.includes(prefix) || !line.includes(`"${field}"`)) continue;
    try {
      const rec = JSON.parse(line);
      if (typeof rec.requestId === "string" && rec.requestId.startsWith(prefix) && typeof rec[field] === "number") out.set(rec.requestId, rec[field]);
    } catch {
      // not a log record of ours
    }
  }
  return out;
}

export const sortedTimes = (values) => Float64Array.from(values).sort();

/** Statuses, latencies and exactness of one load: what every row reports. */
export function tally({ load, arrived, otherBusy }) {
  const { dueMs, doneMs, status, errors } = load.records;
  const statusCounts = {};
  const okDone = [];
  const okLatency = [];
  let lost = 0, forwardedRefused = 0, duplicates = 0;
  for (let i = 0; i < load.sent; i++) {
    statusCounts[status[i]] = (statusCounts[status[i]] ?? 0) + 1;
    const ok = status[i] >= 200 && status[i] < 300;
    const at = arrived.get(i) ?? [];
    if (at.length > 1) duplicates += at.length - 1;
    if (ok) {
      okDone.push(doneMs[i]);
      okLatency.push(doneMs[i] - dueMs[i]);
      if (at.length === 0) lost++;
    } else if (at.length > 0) forwardedRefused++;
  }
  const lat = sortedTimes(okLatency);
  const unexpected = Object.entries(statusCounts).filter(([s]) => s !== "200" && s !== "429").reduce((n, [, c]) => n + c, 0);
  const failures = [
    ...(okDone.length === 0 ? ["nothing admitted"] : []),
    ...(unexpected ? [`${unexpected} responses neither 200 nor 429${errors.size ? ` (e.g. ${[...errors.values()][0]})` : ""}`] : []),
    ...(duplicates ? [`${duplicates} requests reached the upstream twice`] : []),
    ...(lost ? [`${lost} 2xx never reached the upstream`] : []),
    ...(forwardedRefused ? [`${forwardedRefused} refused requests reached the upstream`] : []),
  ];
  const notes = [
    ...failures,
    ...(load.skipped ? [`${load.skipped} due requests not sent (in-flight cap)`] : []),
    ...(otherBusy > 0.15 ? [`server core ${(otherBusy * 100).toFixed(0)}% busy outside the target`] : []),
  ];
  return { statusCounts, okDone: sortedTimes(okDone), p50Ms: quantile(lat, 0.5), p99Ms: quantile(lat, 0.99), lost, duplicates, forwardedRefused, failures, notes };
}
