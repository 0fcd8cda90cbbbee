/**
 * Closed-loop HTTP load for the accuracy and fault runs: `connections` workers, each sending its next request
 * as soon as its last one finished (or `pauseMs` later, to offer less than the server can take), over
 * keep-alive connections (Node's fetch), until the deadline or the request cap. Unlike autocannon it reads
 * every body and hands each response to `onResponse`, so every single answer can be checked. It runs in the
 * harness process, which is pinned to the load core.
 */
import { setTimeout as sleep } from "node:timers/promises";

/** CLOCK_MONOTONIC in ms, the clock the upstream stamps arrivals with: comparable across processes. */
export const monoMs = () => Number(process.hrtime.bigint()) / 1e6;

/**
 * Runs the load until `durationMs`, `maxRequests` or `signal` aborts; resolves { sent, seconds } once every
 * request has been answered or has failed (nothing is left in flight, so client and upstream counts compare
 * exactly). `onResponse(r)` gets, per request: { n, id, sentMs, doneMs, status (0: no response), headers,
 * body (null if it could not be read whole), error (the network or body error, if any) }. Request ids are
 * `${idPrefix}-${n}`.
 */
export async function closedLoop({ url, headers = {}, connections, durationMs, maxRequests, idPrefix, pauseMs = 0, timeoutMs = 10_000, signal, onResponse }) {
  const started = monoMs();
  const deadline = started + durationMs;
  let sent = 0;
  async function worker() {
    while (monoMs() < deadline && sent < maxRequests && !signal?.aborted) {
      const n = sent++;
      const id = `${idPrefix}-${n}`;
      const r = { n, id, sentMs: monoMs(), status: 0, headers: null, body: null, error: null };
      try {
        const res = await fetch(url, { headers: { ...headers, "x-request-id": id }, signal: AbortSignal.timeout(timeoutMs) });
        r.status = res.status;
        r.headers = res.headers;
        r.body = await res.text(); // throws on a body cut short
      } catch (err) {
        r.error = `${err.name}: ${err.cause?.code ?? err.cause?.message ?? err.message}`;
      }
      r.doneMs = monoMs();
      onResponse(r);
      if (pauseMs) await sleep(pauseMs);
    }
  }
  await Promise.all(Array.from({ length: connections }, worker));
  return { sent, seconds: (monoMs() - started) / 1000 };
}
