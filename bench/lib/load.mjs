/**
 * The load generator (a child process, pinned away from the servers): runs one scenario with autocannon and
 * prints one JSON line with the result. Latency is recorded here from autocannon's per-response event,
 * in float milliseconds: autocannon's own histogram rounds to whole milliseconds, too coarse at 1 connection.
 *
 * argv[2]: JSON { url, scenario, ctxFile, duration, maxRequests, idPrefix }
 */
import autocannon from "autocannon";
import { randomBytes } from "node:crypto";
import { readFileSync } from "node:fs";
import { scenarios } from "../scenarios.mjs";

const job = JSON.parse(process.argv[2]);
const s = scenarios.find((x) => x.name === job.scenario);
if (!s) throw new Error(`unknown scenario ${job.scenario}`);
const ctx = job.ctxFile ? JSON.parse(readFileSync(job.ctxFile, "utf8")) : {};

const resolve = (v) => (typeof v === "function" ? v(ctx) : v);
const headers = { ...resolve(s.headers) };
const body = s.body === undefined ? undefined : typeof s.body === "string" ? s.body : randomBytes(s.body.bytes);
const variants = resolve(s.variants) ?? [{}];

// One request template; setupRequest gives each request its variant (round robin over all connections)
// and a unique X-Request-Id, which the upstream uses to count duplicates and losses.
let n = 0;
function setupRequest(req) {
  const v = variants[n % variants.length];
  n++;
  if (v.path !== undefined) req.path = v.path;
  Object.assign(req.headers, v.headers, { "x-request-id": `${job.idPrefix}-${n}` });
  return req;
}

const latencies = new Float64Array(job.maxRequests + s.connections + 16);
let recorded = 0;
let cpu0 = process.cpuUsage();

const instance = autocannon(
  {
    url: job.url + s.path,
    method: s.method,
    headers,
    body,
    connections: s.connections,
    duration: job.duration,
    maxOverallRequests: job.maxRequests, // with duration: whichever comes first
    timeout: 10,
    requests: [{ setupRequest }],
  },
  (err, result) => {
    if (err) {
      process.stderr.write(`load: ${err.stack ?? err}\n`);
      process.exit(1);
    }
    const lat = latencies.subarray(0, recorded).sort();
    const pct = (p) => (lat.length ? lat[Math.min(lat.length - 1, Math.floor((p / 100) * lat.length))] : null);
    const cpu = process.cpuUsage(cpu0);
    const statusCounts = Object.fromEntries(Object.entries(result.statusCodeStats).map(([k, v]) => [k, v.count]));
    const out = {
      completed: recorded,
      sent: result.requests.sent,
      seconds: result.duration,
      statusCounts,
      errors: result.errors,
      timeouts: result.timeouts,
      resets: result.resets,
      latencyMs: { p50: pct(50), p99: pct(99), max: lat.length ? lat[lat.length - 1] : null },
      loadCpuSeconds: (cpu.user + cpu.system) / 1e6,
    };
    process.stdout.write(JSON.stringify(out) + "\n");
  },
);
// The measured window opens here: tell the harness, so it reads the server's CPU at the same moment.
instance.on("start", () => {
  cpu0 = process.cpuUsage();
  process.stdout.write('{"event":"start"}\n');
});
instance.on("response", (_client, _status, _bytes, ms) => {
  if (recorded < latencies.length) latencies[recorded++] = ms;
});
