/**
 * A local KV namespace for `workerd serve`: the service a `kvNamespace` binding talks to, speaking the
 * binding's HTTP protocol (the one Miniflare's KV simulator implements): GET /<key>, POST /bulk/get,
 * PUT /<key>, DELETE /<key>, GET / (list). Values live in this isolate's memory, which is enough for a
 * bench run. The harness seeds it over a socket of its own with the same protocol (PUT /<key>).
 */
const entries = new Map(); // key -> { value: ArrayBuffer, expiration?: seconds, metadata?: string(JSON) }

const now = () => Math.floor(Date.now() / 1000);
const live = (e) => e !== undefined && (e.expiration === undefined || e.expiration > now());

function keyOf(url) {
  const raw = url.pathname.slice(1);
  return url.searchParams.get("urlencoded")?.toLowerCase() === "true" ? decodeURIComponent(raw) : raw;
}

async function bulkGet(request) {
  const { keys, type = "text", withMetadata = false } = await request.json();
  const out = {};
  for (const key of keys) {
    const e = entries.get(key);
    let value = null;
    if (live(e)) {
      const text = new TextDecoder().decode(e.value);
      value = type === "json" ? JSON.parse(text) : text;
    }
    out[key] = withMetadata && value !== null ? { value, metadata: e.metadata ? JSON.parse(e.metadata) : null } : value;
  }
  return Response.json(out);
}

function list(url) {
  const prefix = url.searchParams.get("prefix") ?? "";
  const limit = Number(url.searchParams.get("key_count_limit") ?? 1000);
  const start = Number(url.searchParams.get("cursor") ?? 0);
  const names = [...entries.keys()].filter((k) => k.startsWith(prefix) && live(entries.get(k))).sort();
  const page = names.slice(start, start + limit);
  const keys = page.map((name) => ({ name, expiration: entries.get(name).expiration, metadata: entries.get(name).metadata }));
  const done = start + limit >= names.length;
  return Response.json(done ? { keys, list_complete: true, cacheStatus: null } : { keys, list_complete: false, cursor: String(start + limit), cacheStatus: null });
}

export default {
  async fetch(request) {
    const url = new URL(request.url);
    if (request.method === "POST" && url.pathname === "/bulk/get") return bulkGet(request);
    if (request.method === "GET" && url.pathname === "/") return list(url);
    const key = keyOf(url);
    if (request.method === "GET") {
      const e = entries.get(key);
      if (!live(e)) return new Response("Not Found", { status: 404 });
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
      entries.set(key, { value: await request.arrayBuffer(), expiration, metadata });
      return new Response(null);
    }
    if (request.method === "DELETE") {
      entries.delete(key);
      return new Response(null);
    }
    return new Response("Method Not Allowed", { status: 405 });
  },
};
