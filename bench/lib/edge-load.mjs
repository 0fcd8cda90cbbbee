/**
 * Open-loop load for the edge section, in the harness process (pinned to the load core): every request has
 * a due time and goes out then, whatever the earlier ones are doing, so the offered rate does not bend to
 * the gateway's latency and a slow answer cannot hide the requests behind it (no coordinated omission).
 * `pacedLoad`: request i due at start + i/rate, to urls[i % K], one set of headers. `scheduledLoad`: any due
 * times, each request to its own URL with its own headers (the sparse rows: a random isolate and key each).
 * Latency is completion minus the time the request was due. Keep-alive connections (one node:http agent
 * per URL). In flight is capped: a request due while `maxInFlight` are open is not sent and is counted as
 * `skipped` (a sign the rate is too high for the box).
 */
import http from "node:http";
import { monoMs } from "./http-load.mjs";

/**
 * Runs `count` requests, request i due `dueOffsetMs(i)` ms after the start (non-decreasing in i) and sent to
 * urls[route(i).url] with route(i).headers; resolves once every sent request has been answered or has failed
 * (nothing left in flight, so client and upstream counts compare exactly): { sent, skipped, seconds,
 * startMs, endMs, records }, with records = { dueMs, doneMs (Float64Array), status (Uint16Array, 0: no
 * response), slot (Uint32Array: the schedule's i), errors: Map(n -> text) }, index n for request id
 * `${idPrefix}-${n}` (sent ones only: n < sent). `endMs` is the start plus `durationMs`.
 */
export async function scheduledLoad({ urls, path, count, dueOffsetMs, route, durationMs, idPrefix, maxInFlight = 2000, timeoutMs = 10_000 }) {
  const agents = urls.map(() => new http.Agent({ keepAlive: true, maxSockets: 512 }));
  const targets = urls.map((u) => new URL(u));
  const dueMs = new Float64Array(count);
  const doneMs = new Float64Array(count);
  const status = new Uint16Array(count);
  const slot = new Uint32Array(count);
  const errors = new Map();
  let next = 0, sent = 0, skipped = 0, inFlight = 0, finished = 0;
  const startMs = monoMs() + 20;
  let resolveAll;
  const allDone = new Promise((r) => (resolveAll = r));
  const settle = () => {
    inFlight--;
    finished++;
    if (next >= count && finished === sent) resolveAll();
  };

  function send(n, { url, headers }) {
    const t = targets[url];
    const req = http.request({ agent: agents[url], host: t.hostname, port: t.port, path, headers: { ...headers, "x-request-id": `${idPrefix}-${n}` } });
    let ended = false;
    const end = (code, err) => {
      if (ended) return;
      ended = true;
      doneMs[n] = monoMs();
      status[n] = code;
      if (err) errors.set(n, err);
      settle();
    };
    req.setTimeout(timeoutMs, () => req.destroy(new Error(`no answer within ${timeoutMs} ms`)));
    req.on("error", (err) => end(0, `${err.code ?? err.name}: ${err.message}`));
    req.on("response", (res) => {
      res.on("error", (err) => end(0, `body: ${err.message}`));
      res.on("end", () => end(res.statusCode));
      res.resume(); // read and drop the body
    });
    req.end();
  }

  // A 1 ms tick sends everything that has come due (timers cannot fire every 2 ms exactly; due times are exact).
  await new Promise((resolve) => {
    const tick = () => {
      const now = monoMs();
      while (next < count && startMs + dueOffsetMs(next) <= now) {
        const i = next++;
        if (inFlight >= maxInFlight) {
          skipped++;
          continue;
        }
        dueMs[sent] = startMs + dueOffsetMs(i);
        slot[sent] = i;
        inFlight++;
        send(sent++, route(i));
      }
      return next >= count;
    };
    if (tick()) return resolve();
    const timer = setInterval(() => {
      if (!tick()) return;
      clearInterval(timer);
      resolve();
    }, 1);
  });
  if (finished < sent) await allDone;
  for (const a of agents) a.destroy();
  return { sent, skipped, seconds: (monoMs() - startMs) / 1000, startMs, endMs: startMs + durationMs, records: { dueMs, doneMs, status, slot, errors } };
}

/** `scheduledLoad` at a steady `rate` (req/s) for `durationMs`, round robin over `urls`, one set of headers. */
export function pacedLoad({ urls, path, headers = {}, rate, durationMs, idPrefix, maxInFlight, timeoutMs }) {
  return scheduledLoad({
    urls,
    path,
    count: Math.floor((rate * durationMs) / 1000),
    dueOffsetMs: (i) => (i * 1000) / rate,
    route: (i) => ({ url: i % urls.length, headers }),
    durationMs,
    idPrefix,
    maxInFlight,
    timeoutMs,
  });
}
