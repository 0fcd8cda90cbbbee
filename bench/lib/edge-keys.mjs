/**
 * The edge section's integration-key figures, on a running edge stack (lib/edge-stack.mjs: K gateway
 * isolates whose KV shows a write to the other isolates only KV_PROPAGATION_MS after it, and the key
 * directory in the limiter service), measured with the limiter's delay D = 0:
 *
 *   newKeyFirstRequestStatus  a key created through isolate 1's admin API; the status of its first request
 *                             through isolate 2 (KV there does not show it yet: the directory answers)
 *   revocationMaxMs           every isolate polled continuously with a key all of them admit; after the
 *                             revocation through isolate 1 has answered, the latest send time (from that
 *                             answer) of a request any isolate still admitted; 0 when none was
 *   floodLookupsPer1000       KV reads (counted in the KV service) plus directory calls (counted in the
 *                             limiter service) per 1,000 requests of made-up keys with valid checksums,
 *                             each key new, from one client address (CF-Connecting-IP), over all isolates
 */
import { performance } from "node:perf_hooks";
import { setTimeout as sleep } from "node:timers/promises";
import { generateIntegrationKey } from "../../src/auth/integration-key.ts";
import { edgeAdmin } from "./edge-measure.mjs";
import { KV_PROPAGATION_MS } from "./edge-stack.mjs";

const PATH = "/psa/tickets";
const FLOOD_REQUESTS = 4_000;
const FLOOD_CONCURRENCY = 16;
const FLOOD_ADDRESS = "203.0.113.7";
const POLL_GAP_MS = 5;
/** How long the poll goes on after every isolate has refused the key: a late 200 would show here. */
const POLL_AFTER_MS = 2_000;
const POLL_DEADLINE_MS = 10_000;

async function json(url, init) {
  const res = await fetch(url, init);
  if (!res.ok) throw new Error(`${init?.method ?? "GET"} ${url}: ${res.status} ${await res.text()}`);
  return res.json();
}

const admin = (edge, isolate, path, method, body) => edgeAdmin(edge, method, path, body, isolate);

async function status(url, key, headers = {}) {
  const res = await fetch(`${url}${PATH}`, { headers: { "x-integration-key": key, ...headers } });
  await res.arrayBuffer();
  return res.status;
}

const kvStats = (edge) => json(`${edge.kv.KEYS}/__bench/stats`);
const resetCounts = async (edge) => Promise.all([json(`${edge.kv.KEYS}/__bench/reset`, { method: "POST" }), json(`${edge.limiterUrl}/__edge/reset`, { method: "POST" })]);
const directoryCalls = async (edge) => Object.values(await json(`${edge.limiterUrl}/__edge/directory-calls`)).reduce((a, b) => a + b, 0);

async function newKeyFirstRequest(edge, tenant) {
  await resetCounts(edge);
  const { key } = await admin(edge, 0, `/tenants/${tenant}/keys`, "POST", { name: "bench-keys", access: { psa: "read" } });
  const first = await status(edge.gatewayUrls[1], key);
  const kv = await kvStats(edge);
  return { status: first, kvStaleReads: kv.staleReads, directoryCalls: await directoryCalls(edge) };
}

/** Polls every isolate until each has refused the key for POLL_AFTER_MS after a revocation through isolate 1. */
async function revocation(edge, tenant) {
  const { key, keyId } = await admin(edge, 0, `/tenants/${tenant}/keys`, "POST", { name: "bench-revoke", access: { psa: "read" } });
  const polls = edge.gatewayUrls.map(() => []); // per isolate: [sentMs, status]
  let revokedAt = null;
  let stop = false;
  const loops = edge.gatewayUrls.map(async (url, i) => {
    while (!stop) {
      const sent = performance.now();
      polls[i].push([sent, await status(url, key)]);
      await sleep(POLL_GAP_MS);
    }
  });
  const everyIsolate = (pred) => polls.every((p) => p.some(pred));
  const start = performance.now();
  while (!everyIsolate(([, s]) => s === 200) && performance.now() - start < POLL_DEADLINE_MS) await sleep(20);
  await sleep(1_500); // leases in steady renewal, as in traffic
  await admin(edge, 0, `/tenants/${tenant}/keys/${keyId}`, "DELETE");
  revokedAt = performance.now();
  while (!everyIsolate(([t, s]) => t > revokedAt && s === 401) && performance.now() - revokedAt < POLL_DEADLINE_MS) await sleep(20);
  await sleep(POLL_AFTER_MS);
  stop = true;
  await Promise.all(loops);
  const perIsolate = polls.map((p) => Math.max(0, ...p.filter(([t, s]) => t > revokedAt && s === 200).map(([t]) => t - revokedAt)));
  const refusedEverywhere = everyIsolate(([t, s]) => t > revokedAt && s === 401);
  const admittedBefore = everyIsolate(([t, s]) => t < revokedAt && s === 200);
  return { maxMs: Math.max(...perIsolate), perIsolateMs: perIsolate, polls: polls.reduce((n, p) => n + p.length, 0), refusedEverywhere, admittedBefore };
}

async function flood(edge) {
  await resetCounts(edge);
  const statuses = {};
  let next = 0;
  await Promise.all(
    Array.from({ length: FLOOD_CONCURRENCY }, async () => {
      while (next < FLOOD_REQUESTS) {
        const i = next++;
        const s = await status(edge.gatewayUrls[i % edge.gatewayUrls.length], generateIntegrationKey(), { "cf-connecting-ip": FLOOD_ADDRESS });
        statuses[s] = (statuses[s] ?? 0) + 1;
      }
    }),
  );
  const kv = await kvStats(edge);
  const dir = await directoryCalls(edge);
  return { requests: FLOOD_REQUESTS, statusCounts: statuses, kvReads: kv.reads, directoryCalls: dir, per1000: ((kv.reads + dir) * 1000) / FLOOD_REQUESTS };
}

/** The `keys` figures and their checks (the first judged: it is deterministic). */
export async function measureKeys(edge, tag) {
  const first = await newKeyFirstRequest(edge, `bench-keys-new-${tag}`);
  const revoke = await revocation(edge, `bench-keys-revoke-${tag}`);
  const fl = await flood(edge);
  const failures = [
    ...(first.kvStaleReads === 0 ? ["KV propagation delay not in effect: isolate 2 read the new key from KV"] : []),
    ...(!revoke.admittedBefore ? ["not every isolate admitted the key before its revocation"] : []),
    ...(!revoke.refusedEverywhere ? ["some isolate never refused the revoked key"] : []),
    ...(fl.statusCounts["200"] ? [`${fl.statusCounts["200"]} made-up keys admitted`] : []),
  ];
  const keys = {
    newKeyFirstRequestStatus: first.status,
    revocationMaxMs: Math.round(revoke.maxMs),
    floodLookupsPer1000: Number(fl.per1000.toFixed(2)),
    // extras
    newKey: first,
    revocation: revoke,
    flood: fl,
    failures,
  };
  const checks = [
    { name: "keys: newKeyFirstRequestStatus = 200", judged: true, met: first.status === 200, detail: `${first.status} (KV stale reads ${first.kvStaleReads}, directory calls ${first.directoryCalls})` },
    { name: "keys: revocationMaxMs <= 1000", met: revoke.maxMs <= 1000, detail: `${Math.round(revoke.maxMs)} ms (per isolate ${revoke.perIsolateMs.map((v) => Math.round(v)).join(", ")})` },
    { name: "keys: floodLookupsPer1000 <= 10", met: fl.per1000 <= 10, detail: `${fl.kvReads} KV reads + ${fl.directoryCalls} directory calls for ${fl.requests} requests` },
  ];
  return { keys, checks };
}

/** The figures as a Markdown section for edge.md. */
export function keysMarkdown(keys) {
  return [
    `## Integration keys (KV propagation delay ${KV_PROPAGATION_MS / 1000} s, D = 0)`,
    "",
    "| figure | value | target |",
    "|---|---|---|",
    `| newKeyFirstRequestStatus (created via isolate 1, first request via isolate 2) | ${keys.newKeyFirstRequestStatus} | 200 |`,
    `| revocationMaxMs (latest admitted request after the revocation answered, any isolate) | ${keys.revocationMaxMs} | ≤ 1000 |`,
    `| floodLookupsPer1000 (KV reads + directory calls per 1,000 made-up keys, one address) | ${keys.floodLookupsPer1000} | ≤ 10 |`,
    "",
    `Flood: ${keys.flood.requests} requests, ${Object.entries(keys.flood.statusCounts).map(([k, n]) => `${k}×${n}`).join(", ")}; ${keys.flood.kvReads} KV reads, ${keys.flood.directoryCalls} directory calls.` +
      (keys.failures.length ? ` Failures: ${keys.failures.join("; ")}.` : ""),
    "",
  ].join("\n");
}
