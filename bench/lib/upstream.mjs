/**
 * The local upstream (a child process, loopback only): answers every request with a small JSON 200, drains
 * request bodies chunk by chunk without keeping them (so a 1 MB POST costs the upstream no memory), and
 * counts what arrived per X-Request-Id so the harness can report duplicated and lost requests.
 * It also serves the bench JWKS (BENCH_JWKS) for gateways that verify session JWTs against a remote JWKS.
 *
 * IPC: {op:"reset"} clears the counters; {op:"stats"} returns them. Announces {op:"ready", port} on start.
 */
import http from "node:http";

const JWKS_PATH = "/.well-known/jwks.json";
const jwks = process.env.BENCH_JWKS ?? '{"keys":[]}';
const reply = Buffer.from('{"ok":true}');

let stats;
function reset() {
  stats = { hits: 0, ids: new Set(), duplicates: 0, withoutId: 0, bodyBytes: 0, maxBodyBytes: 0, jwksHits: 0 };
}
reset();

const server = http.createServer((req, res) => {
  if (req.url === JWKS_PATH) {
    stats.jwksHits++;
    res.writeHead(200, { "content-type": "application/json", "cache-control": "max-age=3600" });
    res.end(jwks);
    return;
  }
  let bytes = 0;
  req.on("data", (chunk) => (bytes += chunk.length)); // count, never keep
  req.on("end", () => {
    stats.hits++;
    stats.bodyBytes += bytes;
    if (bytes > stats.maxBodyBytes) stats.maxBodyBytes = bytes;
    const id = req.headers["x-request-id"];
    if (id === undefined) stats.withoutId++;
    else if (stats.ids.has(id)) stats.duplicates++;
    else stats.ids.add(id);
    res.writeHead(200, { "content-type": "application/json", "content-length": reply.length });
    res.end(reply);
  });
});
server.keepAliveTimeout = 60_000; // the Worker's outbound pool keeps connections; don't churn them
server.headersTimeout = 65_000;

process.on("message", (m) => {
  if (m.op === "reset") {
    reset();
    process.send({ id: m.id, ok: true });
  } else if (m.op === "stats") {
    const { ids, ...rest } = stats;
    process.send({ id: m.id, stats: { ...rest, unique: ids.size } });
  }
});
process.on("disconnect", () => process.exit(0)); // the harness is gone: don't linger

server.listen(0, "127.0.0.1", () => process.send({ op: "ready", port: server.address().port }));
