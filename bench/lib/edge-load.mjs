/**
 * Paced, open-loop load for the edge section, in the harness process (pinned to the load core): request i
 * is due at start + i/rate and goes to urls[i % K], whatever the earlier ones are doing, so the offered rate
 * does not bend to the gateway's latency and a slow answer cannot hide the requests behind it (no
 * coordinated omission). Latency is completion minus the time the request was due. Keep-alive connections
 * (one node:http agent per URL). In flight is capped: a request due while `maxInFlight` are open is not
 * sent and is counted as `skipped` (a sign the rate is too high for the box).
 */
import http from "node:http";
import { monoMs } from "./http-load.mjs";

/**
 * Runs the load; resolves once every sent request has been answered or has failed (nothing left in flight,
 * so client and upstream counts compare exactly): { sent, skipped, seconds, startMs, endMs, records }, with
 * records = { dueMs, doneMs (Float64Array), status (Uint16Array, 0: no response), errors: Map(i -> text) },
 * index i for request id `${idPrefix}-${i}` (sent ones only: i < sent).
 */
export async function pacedLoad({ urls, path, headers = {}, rate, durationMs, idPrefix, maxInFlight = 2000, timeoutMs = 10_000 }) {
  const total = Math.floor((rate * durationMs) / 1000);
  const agents = urls.map(() => new http.Agent({ keepAlive: true, maxSockets: 512 }));
  const targets = urls.map((u) => new URL(u));
  const dueMs = new Float64Array(total);
  const doneMs = new Float64Array(total);
  const status = new Uint16Array(total);
  const errors = new Map();
  let next = 0, sent = 0, skipped = 0, inFlight = 0, finished = 0;
  const startMs = monoMs() + 20;
  let resolveAll;
  const allDone = new Promise((r) => (resolveAll = r));
  const settle = () => {
    inFlight--;
    finished++;
    if (next >= total && finished === sent) resolveAll();
  };

  function send(i) {
    const t = targets[i % targets.length];
    const req = http.request({ agent: agents[i % agents.length], host: t.hostname, port: t.port, path, headers: { ...headers, "x-request-id": `${idPrefix}-${i}` } });
    let ended = false;
    const end = (code, err) => {
      if (ended) return;
      ended = true;
      doneMs[i] = monoMs();
      status[i] = code;
      if (err) errors.set(i, err);
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
    const timer = setInterval(() => {
      const now = monoMs();
      while (next < total && startMs + (next * 1000) / rate <= now) {
        const i = next++;
        if (inFlight >= maxInFlight) {
          skipped++;
          continue;
        }
        dueMs[sent] = startMs + (i * 1000) / rate;
        inFlight++;
        send(sent++);
      }
      if (next >= total) {
        clearInterval(timer);
        resolve();
      }
    }, 1);
  });
  if (finished < sent) await allDone;
  for (const a of agents) a.destroy();
  return { sent, skipped, seconds: (monoMs() - startMs) / 1000, startMs, endMs: startMs + durationMs, records: { dueMs, doneMs, status, errors } };
}
