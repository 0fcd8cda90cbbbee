import { env } from "cloudflare:workers";
import { beforeAll, describe, expect, it } from "vitest";
import { call, createKey, envelope, expectBodyBrokenOff, recorded, rid, tenant } from "../support/gateway";
import { callWith, envWith } from "../support/worker";

let key = "";
let ticket = "";
beforeAll(async () => {
  ({ key } = await createKey(tenant("proxy"), { psa: "write", rmm: "write" }));
  const res = await call("/psa/tickets", { method: "POST", headers: { "x-integration-key": key, "content-type": "application/json" }, body: '{"title":"upload target"}' });
  ticket = ((await res.json()) as { id: string }).id;
});

/** A body of `count` chunks without a known length (sent chunked); `sent()` tells how many were pulled. */
function chunkedBody(chunk: Uint8Array, count: number): { stream: ReadableStream<Uint8Array>; sent: () => number } {
  let pulled = 0;
  const stream = new ReadableStream<Uint8Array>({
    pull(controller) {
      if (pulled === count) return controller.close();
      pulled += 1;
      controller.enqueue(chunk);
    },
  });
  return { stream, sent: () => pulled };
}

/** 64 KiB chunks of random bytes (getRandomValues fills at most 64 KiB at a time). */
function randomBytes(size: number): Uint8Array {
  const out = new Uint8Array(size);
  for (let i = 0; i < size; i += 65536) crypto.getRandomValues(out.subarray(i, Math.min(size, i + 65536)));
  return out;
}

function bytesOf(base64: string | null | undefined): Uint8Array {
  return Uint8Array.from(atob(base64 ?? ""), (c) => c.charCodeAt(0));
}

async function sha256Hex(bytes: Uint8Array): Promise<string> {
  const digest = await crypto.subtle.digest("SHA-256", bytes);
  return [...new Uint8Array(digest)].map((b) => b.toString(16).padStart(2, "0")).join("");
}

describe("forwarding", () => {
  it("forwards the product-relative path and the raw query string byte for byte", async () => {
    const id = rid();
    const res = await call("/psa/tickets?status=open&q=caf%C3%A9+%26+bar&empty=&x=1&x=2", { headers: { "x-integration-key": key, "x-request-id": id } });
    expect(res.status).toBe(200);
    const [got] = await recorded("psa", id);
    expect(got?.url).toBe("/tickets?status=open&q=caf%C3%A9+%26+bar&empty=&x=1&x=2");
  });

  it("routes each product to its own upstream", async () => {
    const id = rid();
    const res = await call("/rmm/devices", { headers: { "x-integration-key": key, "x-request-id": id } });
    expect(res.status).toBe(200);
    expect(await recorded("rmm", id)).toHaveLength(1);
    expect(await recorded("psa", id)).toHaveLength(0);
  });

  it("forwards a JSON body as the exact bytes the client sent", async () => {
    const id = rid();
    const body = '{ "title" : "Printer on fire \\u00e9 🔥",\n  "priority":"high" , "externalId": "' + id + '" }';
    const res = await call("/psa/tickets", { method: "POST", headers: { "x-integration-key": key, "x-request-id": id, "content-type": "application/json; charset=utf-8" }, body });
    expect(res.status).toBe(201);
    const [got] = await recorded("psa", id);
    expect(new TextDecoder().decode(bytesOf(got?.bodyBase64))).toBe(body);
    expect(got?.headers["content-length"]).toBe(String(new TextEncoder().encode(body).byteLength));
    expect(got?.headers["content-type"]).toBe("application/json; charset=utf-8");
  });

  it("streams a binary upload untouched, keeping its Content-Length", async () => {
    const id = rid();
    const upload = randomBytes(300_000);
    const res = await call(`/psa/tickets/${ticket}/attachments`, { method: "POST", headers: { "x-integration-key": key, "x-request-id": id, "content-type": "application/octet-stream" }, body: upload });
    const [got] = await recorded("psa", id);
    expect(got?.bodyLength).toBe(upload.byteLength);
    expect(got?.bodySha256).toBe(await sha256Hex(upload));
    expect(got?.headers["content-length"]).toBe(String(upload.byteLength));
    expect(res.status).toBe(201);
  });

  it("streams an upload sent without Content-Length", async () => {
    const id = rid();
    const chunk = new Uint8Array(64 * 1024).fill(7);
    const { stream } = chunkedBody(chunk, 8);
    await call(`/psa/tickets/${ticket}/attachments`, { method: "POST", headers: { "x-integration-key": key, "x-request-id": id, "content-type": "image/png" }, body: stream });
    const [got] = await recorded("psa", id);
    expect(got?.bodyLength).toBe(8 * chunk.byteLength);
  });

  it("streams a large response body through whole", async () => {
    const res = await call("/psa/tickets", { headers: { "x-integration-key": key, "x-demo-fault": "large=5242880" } });
    expect(res.status).toBe(200);
    expect((await res.arrayBuffer()).byteLength).toBe(5_242_880);
  });

  it("answers HEAD with the GET route, forwarding a HEAD and passing no body back", async () => {
    const id = rid();
    const res = await call("/psa/tickets?status=open", { method: "HEAD", headers: { "x-integration-key": key, "x-request-id": id } });
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toMatch(/^application\/json/);
    expect(res.headers.get("ratelimit-policy")).toMatch(/q=\d+/);
    expect((await res.arrayBuffer()).byteLength).toBe(0);
    const got = await recorded("psa", id);
    expect(got.map((r) => [r.method, r.url])).toEqual([["HEAD", "/tickets?status=open"]]);
  });

  it("sends the product-relative path under the upstream's own base path", async () => {
    const id = rid();
    const res = await callWith(envWith({ UPSTREAM_PSA: `${env.UPSTREAM_PSA}/v2` }), "/psa/tickets/tkt_1?x=1", { headers: { "x-integration-key": key, "x-request-id": id } });
    // The demo backend serves no /v2 routes: its 404 comes back as the envelope.
    expect(res.status).toBe(404);
    expect((await envelope(res)).code).toBe("NOT_FOUND");
    const got = await recorded("psa", id);
    expect(got.map((r) => [r.method, r.url])).toEqual([["GET", "/v2/tickets/tkt_1?x=1"]]);
  });

  it("forwards to a service:BINDING upstream through the binding, with the same path, headers and body", async () => {
    const id = rid();
    const body = JSON.stringify({ title: "through a binding", externalId: id });
    const res = await callWith(envWith({ UPSTREAM_PSA: "service:PSA_SERVICE" }), "/psa/tickets?via=binding", {
      method: "POST",
      headers: { "x-integration-key": key, "x-request-id": id, "content-type": "application/json" },
      body,
    });
    expect(res.status).toBe(201);
    const got = await recorded("psa", id);
    expect(got.map((r) => [r.method, r.url])).toEqual([["POST", "/tickets?via=binding"]]);
    expect(new TextDecoder().decode(bytesOf(got[0]?.bodyBase64))).toBe(body);
    expect(got[0]?.headers["x-onestack-principal-type"]).toBe("key");
    expect(got[0]?.headers["x-integration-key"]).toBeUndefined();
  });

  it("answers a service:BINDING upstream that is not bound with a generic 500, forwarding nothing, and health names the field", async () => {
    const id = rid();
    const unbound = envWith({ UPSTREAM_PSA: "service:PSA_NOT_BOUND" });
    const res = await callWith(unbound, "/psa/tickets", { headers: { "x-integration-key": key, "x-request-id": id } });
    expect(res.status).toBe(500);
    const text = await res.text();
    expect(JSON.parse(text)).toEqual({ error: expect.any(String), code: "INTERNAL_ERROR", details: null });
    expect(text).not.toContain("PSA_NOT_BOUND");
    expect(await recorded("psa", id)).toHaveLength(0);
    const health = await callWith(unbound, "/__gateway/health");
    expect(health.status).toBe(503);
    expect(await envelope(health)).toMatchObject({ code: "SERVICE_UNAVAILABLE", details: { config: { valid: false, field: "UPSTREAM_PSA" } } });
  });

  it("passes a 2xx body the product cuts off mid-way through cut, never as a clean end", async () => {
    const res = await call("/psa/tickets", { headers: { "x-integration-key": key, "x-demo-fault": "cut-body=100000" } });
    expect(res.status).toBe(200);
    const reader = (res.body as ReadableStream<Uint8Array>).getReader();
    let received = 0;
    const ended = await (async () => {
      for (;;) {
        const { done, value } = await reader.read();
        if (done) return "clean end";
        received += value.byteLength;
      }
    })().catch(() => "error");
    expect(ended).toBe("error");
    expect(received).toBeLessThanOrEqual(100000);
  });

  it("never lets the path, Host or X-Forwarded-Host choose the upstream host", async () => {
    const id = rid();
    const res = await call("/psa/tickets", { headers: { "x-integration-key": key, "x-request-id": id, host: "evil.example", "x-forwarded-host": "evil.example" } });
    expect(res.status).toBe(200);
    const [got] = await recorded("psa", id);
    expect(got?.headers.host).toMatch(/^127\.0\.0\.1:\d+$/);
    expect(got?.headers["x-forwarded-host"]).toBeUndefined();
  });

  it("drops hop-by-hop request headers and keeps end-to-end ones", async () => {
    const id = rid();
    await call("/psa/tickets", {
      headers: { "x-integration-key": key, "x-request-id": id, "keep-alive": "timeout=5", te: "trailers", "proxy-authorization": "Basic eDp5", "x-custom": "kept", "accept-language": "fr" },
    });
    const [got] = await recorded("psa", id);
    for (const h of ["keep-alive", "te", "proxy-authorization", "x-integration-key"]) expect(got?.headers[h]).toBeUndefined();
    expect(got?.headers["x-custom"]).toBe("kept");
    expect(got?.headers["accept-language"]).toBe("fr");
  });

  it("drops hop-by-hop response headers", async () => {
    const res = await call("/psa/tickets", { headers: { "x-integration-key": key, "x-demo-fault": "hop-headers" } });
    expect(res.status).toBe(200);
    // The demo backend sends Connection: close, X-Secret-Hop plus Keep-Alive, Proxy-Authenticate, Trailer.
    for (const h of ["connection", "keep-alive", "x-secret-hop", "proxy-authenticate", "proxy-connection", "trailer", "transfer-encoding"]) {
      expect(res.headers.get(h)).toBeNull();
    }
    expect(res.headers.get("content-type")).toMatch(/^application\/json/);
  });
});

describe("request bodies at the edge", () => {
  it("refuses a body that is not JSON under a JSON content type with INVALID_JSON, forwarding nothing", async () => {
    const id = rid();
    const res = await call("/psa/tickets", { method: "POST", headers: { "x-integration-key": key, "x-request-id": id, "content-type": "application/json" }, body: '{"title": "x",' });
    expect(res.status).toBe(400);
    expect((await envelope(res)).code).toBe("INVALID_JSON");
    expect(await recorded("psa", id)).toHaveLength(0);
  });

  it("refuses invalid UTF-8 in a JSON body", async () => {
    const res = await call("/psa/tickets", { method: "POST", headers: { "x-integration-key": key, "content-type": "application/json" }, body: new Uint8Array([0x22, 0xff, 0xfe, 0x22]) });
    expect((await envelope(res)).code).toBe("INVALID_JSON");
  });

  it("refuses a write to a JSON-only route sent as another type, naming Content-Type in details.fields", async () => {
    const id = rid();
    const res = await call("/psa/tickets", { method: "POST", headers: { "x-integration-key": key, "x-request-id": id, "content-type": "text/plain" }, body: "title=x" });
    expect(res.status).toBe(400);
    const body = await envelope(res);
    expect(body.code).toBe("VALIDATION_ERROR");
    expect(body.details).toEqual({ fields: { "Content-Type": expect.any(String) } });
    expect(await recorded("psa", id)).toHaveLength(0);
  });

  it("refuses a write to a JSON-only route with a body and no content type", async () => {
    const res = await call("/psa/tickets", { method: "POST", headers: { "x-integration-key": key }, body: new Uint8Array([1, 2, 3]) });
    expect(res.status).toBe(400);
    expect((await envelope(res)).details).toEqual({ fields: { "Content-Type": expect.any(String) } });
  });

  it("accepts a GET carrying Content-Type: application/json and no body (the seed client sends one)", async () => {
    const res = await call("/psa/tickets", { headers: { "x-integration-key": key, "content-type": "application/json" } });
    expect(res.status).toBe(200);
  });

  it("answers a JSON body over the JSON cap with 413 PAYLOAD_TOO_LARGE, forwarding nothing", async () => {
    const id = rid();
    const res = await callWith(envWith({ MAX_JSON_BYTES: "1024" }), "/psa/tickets", {
      method: "POST",
      headers: { "x-integration-key": key, "x-request-id": id, "content-type": "application/json" },
      body: JSON.stringify({ title: "x".repeat(2000) }),
    });
    expect(res.status).toBe(413);
    expect(await envelope(res)).toMatchObject({ code: "PAYLOAD_TOO_LARGE", details: { limit: 1024 } });
    expect(await recorded("psa", id)).toHaveLength(0);
  });

  it("answers an upload over the body cap with 413 even without Content-Length, forwarding no more than the cap", async () => {
    const id = rid();
    const { stream } = chunkedBody(new Uint8Array(16 * 1024), 64);
    const res = await callWith(envWith({ MAX_BODY_BYTES: "100000" }), `/psa/tickets/${ticket}/attachments`, {
      method: "POST",
      headers: { "x-integration-key": key, "x-request-id": id, "content-type": "application/octet-stream" },
      body: stream,
    });
    expect(res.status).toBe(413);
    expect((await envelope(res)).code).toBe("PAYLOAD_TOO_LARGE");
    // The rest is drained at the edge (request-body-hardening.test.ts), never forwarded.
    await expectBodyBrokenOff("psa", id, 100000);
  });

  it("answers a declared Content-Length over the body cap with 413 before reading it", async () => {
    const id = rid();
    const res = await callWith(envWith({ MAX_BODY_BYTES: "1000" }), `/psa/tickets/${ticket}/attachments`, {
      method: "POST",
      // Set explicitly: a Request built in-process carries no Content-Length header until it is sent.
      headers: { "x-integration-key": key, "x-request-id": id, "content-type": "application/octet-stream", "content-length": "5000" },
      body: new Uint8Array(5000),
    });
    expect(res.status).toBe(413);
    expect(await recorded("psa", id)).toHaveLength(0);
  });
});
