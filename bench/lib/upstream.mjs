/**
 * The local upstream (a child process, loopback only): answers every request with a small JSON 200, drains
 * request bodies chunk by chunk without keeping them (so a 1 MB POST costs the upstream no memory), and
 * counts what arrived per X-Request-Id so the harness can report duplicated and lost requests.
 * It also serves the bench JWKS (BENCH_JWKS) for gateways that verify session JWTs against a remote JWKS.
 *
 * IPC: {op:"reset", log?} clears the counters (log: also record id, arrival CLOCK_MONOTONIC ms and
 * arrival Date.now() per request, flat, for the accuracy and fault runs); {op:"stats"} returns the counters; {op:"arrivals"} the recorded log;
 * {op:"mode", mode, delayMs?} makes the upstream misbehave (FAULTS below, or "refuse": stop listening).
 * Announces {op:"ready", port} on start.
 */
import http from "node:http";
import { LEAK_TEXT, UPSTREAM_OK_BODY } from "./checks.mjs";

const JWKS_PATH = "/.well-known/jwks.json";
const jwks = process.env.BENCH_JWKS ?? '{"keys":[]}';
const reply = Buffer.from(UPSTREAM_OK_BODY);
// CLOCK_MONOTONIC, the same clock the harness reads: arrival times compare with its send/receive times.
const monoMs = () => Number(process.hrtime.bigint()) / 1e6;

let stats;
let log = null; // [id, monoMs, wallMs, ...] while recording
function reset(record = false) {
  stats = { hits: 0, ids: new Set(), duplicates: 0, withoutId: 0, bodyBytes: 0, maxBodyBytes: 0, jwksHits: 0 };
  log = record ? [] : null;
}
reset();

// What a broken product sends, with marker texts (checks.mjs) that must never reach a client.
const html502 = `<html><head><title>502 Bad Gateway</title></head><body><h1>502 Bad Gateway</h1><p>${LEAK_TEXT.host}</p><hr><center>${LEAK_TEXT.banner}</center></body></html>`;
const badJson500 = `{"error":"connect ECONNREFUSED ${LEAK_TEXT.host}:5432","stack":"Error\\n    ${LEAK_TEXT.stack}"`; // no closing brace
let slowMs = 1500;
const FAULTS = {
  ok: (res) => {
    res.writeHead(200, { "content-type": "application/json", "content-length": reply.length });
    res.end(reply);
  },
  slow: (res) => setTimeout(() => FAULTS.ok(res), slowMs), // past the gateway's timeout: it must answer 504 first
  "html-502": (res) => res.writeHead(502, { "content-type": "text/html", server: LEAK_TEXT.banner }).end(html502),
  "json-500": (res) => res.writeHead(500, { "content-type": "application/json" }).end(badJson500),
  // Headers promise 4 KiB, a prefix is sent, then the connection drops: a response cut in the middle.
  "truncated-200": (res) => cut(res, 200, '{"data":[{"id":"tkt_1","title":"fine so far"},'),
  "truncated-500": (res) => cut(res, 500, badJson500.slice(0, 60)),
  drop: (res) => res.socket.destroy(), // request read, no response at all
};
function cut(res, status, prefix) {
  res.writeHead(status, { "content-type": "application/json", "content-length": 4096 });
  res.write(prefix, () => res.socket?.destroy());
}
let mode = "ok";

const server = http.createServer((req, res) => {
  req.on("error", () => {}); // a gateway that gave up (timeout) resets the connection: expected here
  res.on("error", () => {});
  if (req.url === JWKS_PATH) {
    stats.jwksHits++;
    res.writeHead(200, { "content-type": "application/json", "cache-control": "max-age=3600" });
    res.end(jwks);
    return;
  }
  const id = req.headers["x-request-id"];
  log?.push(id ?? null, monoMs(), Date.now()); // Date.now(): the clock the limiter decides with
  let bytes = 0;
  req.on("data", (chunk) => (bytes += chunk.length)); // count, never keep
  req.on("end", () => {
    stats.hits++;
    stats.bodyBytes += bytes;
    if (bytes > stats.maxBodyBytes) stats.maxBodyBytes = bytes;
    if (id === undefined) stats.withoutId++;
    else if (stats.ids.has(id)) stats.duplicates++;
    else stats.ids.add(id);
    FAULTS[mode](res);
  });
});
server.keepAliveTimeout = 60_000; // the Worker's outbound pool keeps connections; don't churn them
server.headersTimeout = 65_000;

/** "refuse" closes the listening socket and every open connection: new connects get ECONNREFUSED. */
async function setMode(next, delayMs) {
  if (delayMs !== undefined) slowMs = delayMs;
  if (next === "refuse" && server.listening) {
    const closed = new Promise((resolve) => server.close(resolve));
    server.closeAllConnections();
    await closed;
  } else if (next !== "refuse" && !server.listening) {
    await new Promise((resolve) => server.listen(port, "127.0.0.1", resolve)); // same port: the gateway's URL
  }
  if (next !== "refuse" && !FAULTS[next]) throw new Error(`unknown upstream mode ${next}`);
  mode = next === "refuse" ? "ok" : next;
}

process.on("message", (m) => {
  if (m.op === "reset") {
    reset(m.log);
    process.send({ id: m.id, ok: true });
  } else if (m.op === "stats") {
    const { ids, ...rest } = stats;
    process.send({ id: m.id, stats: { ...rest, unique: ids.size } });
  } else if (m.op === "arrivals") {
    process.send({ id: m.id, arrivals: log ?? [] });
  } else if (m.op === "mode") {
    setMode(m.mode, m.delayMs).then(
      () => process.send({ id: m.id, ok: true }),
      (err) => process.send({ id: m.id, error: err.message }),
    );
  }
});
process.on("disconnect", () => process.exit(0)); // the harness is gone: don't linger

let port;
server.listen(0, "127.0.0.1", () => {
  port = server.address().port;
  process.send({ op: "ready", port });
});
