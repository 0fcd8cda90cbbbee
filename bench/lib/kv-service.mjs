/**
 * A local KV namespace for `workerd serve`: the service a `kvNamespace` binding talks to, speaking the
 * binding's HTTP protocol (the one Miniflare's KV simulator implements): GET /<key>, POST /bulk/get,
 * PUT /<key>, DELETE /<key>, GET / (list). Values live in this isolate's memory, which is enough for a
 * bench run. The harness seeds it over a socket of its own with the same protocol (PUT /<key>).
 *
 * Propagation delay (the edge section): with the var PROPAGATION_MS, a write is visible at once to the
 * isolate that made it and to everyone else only PROPAGATION_MS later, as KV's replicas behave (Cloudflare
 * documents up to 60 s). Until then other readers see the value from before the write (or nothing). A
 * binding names its isolate in its props (`props = (json = "{\"isolate\":\"gw0\"}")`); writes without one
 * (the harness's socket) are visible to all at once. Without the var there is no delay.
 *
 * The harness's own paths (no key the gateway uses starts with `__bench/`):
 *   GET  /__bench/stats   {"reads": n, "staleReads": n}: keys read through GET and bulk get since the reset,
 *                         and how many of them saw an older value than the latest write (the delay at work)
 *   POST /__bench/reset   counts back to zero
 */
const entries = new Map(); // key -> { value: ArrayBuffer | null (deleted), expiration?, metadata?, writer?, writtenAt, previous? }
let stats = { reads: 0, staleReads: 0 };

const now = () => Math.floor(Date.now() / 1000);
const live = (e) => e !== undefined && e.value !== null && (e.expiration === undefined || e.expiration > now());

function keyOf(url) {
  const raw = url.pathname.slice(1);
  return url.searchParams.get("urlencoded")?.toLowerCase() === "true" ? decodeURIComponent(raw) : raw;
}

/** The version of `key` that `reader` sees: the latest, or the newest one older than the propagation delay. */
function visible(key, reader, delayMs) {
  let e = entries.get(key);
  const nowMs = Date.now();
  const latest = e;
  while (e !== undefined && e.writer !== undefined && e.writer !== reader && nowMs < e.writtenAt + delayMs) e = e.previous;
  if (latest !== undefined && latest.previous !== undefined && nowMs >= latest.writtenAt + delayMs) latest.previous = undefined; // propagated everywhere
  return { entry: e, stale: e !== latest };
}

function read(key, reader, delayMs) {
  const { entry, stale } = visible(key, reader, delayMs);
  stats.reads++;
  if (stale) stats.staleReads++;
  return live(entry) ? entry : undefined;
}

function write(key, entry, writer) {
  entries.set(key, { ...entry, writer, writtenAt: Date.now(), previous: entries.get(key) });
}

async function bulkGet(request, reader, delayMs) {
  const { keys, type = "text", withMetadata = false } = await request.json();
  const out = {};
  for (const key of keys) {
    const e = read(key, reader, delayMs);
    let value = null;
    if (e !== undefined) {
      const text = new TextDecoder().decode(e.value);
      value = type === "json" ? JSON.parse(text) : text;
    }
    out[key] = withMetadata && value !== null ? { value, metadata: e.metadata ? JSON.parse(e.metadata) : null } : value;
  }
  return Response.json(out);
}

function list(url, reader, delayMs) {
  const prefix = url.searchParams.get("prefix") ?? "";
  const limit = Number(url.searchParams.get("key_count_limit") ?? 1000);
  const start = Number(url.searchParams.get("cursor") ?? 0);
  const seen = new Map([...entries.keys()].filter((k) => k.startsWith(prefix)).map((k) => [k, visible(k, reader, delayMs).entry]));
  const names = [...seen.keys()].filter((k) => live(seen.get(k))).sort();
  const page = names.slice(start, start + limit);
  const keys = page.map((name) => ({ name, expiration: seen.get(name).expiration, metadata: seen.get(name).metadata }));
  const done = start + limit >= names.length;
  return Response.json(done ? { keys, list_complete: true, cacheStatus: null } : { keys, list_complete: false, cursor: String(start + limit), cacheStatus: null });
}

export default {
  async fetch(request, env, ctx) {
    const url = new URL(request.url);
    const reader = ctx.props?.isolate;
    const delayMs = Number(env.PROPAGATION_MS ?? 0);
    if (url.pathname === "/__bench/stats") return Response.json(stats);
    if (url.pathname === "/__bench/reset" && request.method === "POST") {
      stats = { reads: 0, staleReads: 0 };
      return Response.json(stats);
    }
    if (request.method === "POST" && url.pathname === "/bulk/get") return bulkGet(request, reader, delayMs);
    if (request.method === "GET" && url.pathname === "/") return list(url, reader, delayMs);
    const key = keyOf(url);
    if (request.method === "GET") {
      const e = read(key, reader, delayMs);
      if (e === undefined) return new Response("Not Found", { status: 404 });
      const headers = new Headers();
      if (e.expiration !== undefined) headers.set("CF-Expiration", String(e.expiration));
      if (e.metadata !== undefined) headers.set("CF-KV-Metadata", e.metadata);
      return new Response(e.value, { headers });
    }
    if (request.method === "PUT") {
      const ttl = url.searchParams.get("expiration_ttl");
      const at = url.searchParams.get("expiration");
      const expiration = ttl ? now() + Number(ttl) : at ? Number(at) : undefined;
      const metadata = request.headers.get("CF-KV-Metadata") ?? undefined;
      write(key, { value: await request.arrayBuffer(), expiration, metadata }, reader);
      return new Response(null);
    }
    if (request.method === "DELETE") {
      write(key, { value: null }, reader);
      return new Response(null);
    }
    return new Response("Method Not Allowed", { status: 405 });
  },
};
