import { describe, expect, it } from "vitest";
import { GatewayError } from "../../src/errors";
import { Deadline } from "../../src/proxy/deadline";
import { isValidEnvelope, MAX_ERROR_BODY_BYTES, normalizeUpstream, type NormalizeContext } from "../../src/proxy/normalize";
import { readPrefix } from "../../src/proxy/read-prefix";

const NOW = Date.UTC(2026, 0, 1, 12, 0, 0);

/** A normalization context for an upstream at http://upstream.test with no base path, product /psa. */
function ctx(deadline = new Deadline(10_000)): NormalizeContext {
  const location = { upstreamUrl: "http://upstream.test/tickets", upstreamOrigin: "http://upstream.test", upstreamBasePath: "", publicOrigin: "https://gw.test", productBasePath: "/psa" };
  return { nowMs: NOW, deadline, headers: { sessionCookie: "os_session", location }, onBodyStall: () => undefined };
}

const json = (body: unknown, status: number, headers: Record<string, string> = {}) =>
  new Response(JSON.stringify(body), { status, headers: { "content-type": "application/json", ...headers } });

async function envelopeOf(res: Response) {
  expect(res.headers.get("content-type")).toMatch(/^application\/json/);
  return (await res.json()) as { error: string; code: string; details: Record<string, unknown> | null };
}

describe("normalizeUpstream", () => {
  it("passes a 4xx envelope through byte for byte", async () => {
    const bytes = '{"error":"Ticket not found","code":"NOT_FOUND","details":{"resourceType":"ticket","resourceId":"tkt_x"}}';
    const res = await normalizeUpstream(new Response(bytes, { status: 404, headers: { "content-type": "application/json", etag: "x" } }), ctx());
    expect(res.status).toBe(404);
    expect(await res.text()).toBe(bytes);
    // Error answers carry the gateway's headers plus the allow-list only (docs/errors.md, "Upstream answers").
    expect(res.headers.get("etag")).toBeNull();
    expect(res.headers.get("content-type")).toBe("application/json; charset=utf-8");
  });

  it("turns a non-envelope 400 into VALIDATION_ERROR with derived fields", async () => {
    const res = await normalizeUpstream(json({ errors: { title: "is required" }, message: "Title is required" }, 400), ctx());
    expect(res.status).toBe(400);
    expect(await envelopeOf(res)).toMatchObject({ code: "VALIDATION_ERROR", details: { fields: { title: "is required" } } });
  });

  it("does not pass a VALIDATION_ERROR envelope without details.fields (the seed client reads it)", async () => {
    const res = await normalizeUpstream(json({ error: "bad", code: "VALIDATION_ERROR", details: null }, 400), ctx());
    expect(await envelopeOf(res)).toEqual({ error: "bad", code: "VALIDATION_ERROR", details: { fields: {} } });
  });

  it.each([
    [401, "UNAUTHORIZED"],
    [403, "FORBIDDEN"],
    [404, "NOT_FOUND"],
    [409, "CONFLICT"],
    [410, "NOT_FOUND"],
  ])("maps a plain-text %i to %s keeping the status", async (status, code) => {
    const res = await normalizeUpstream(new Response("nope", { status }), ctx());
    expect(res.status).toBe(status);
    expect((await envelopeOf(res)).code).toBe(code);
  });

  it("keeps Retry-After on an upstream 429 and mirrors it in details", async () => {
    const res = await normalizeUpstream(new Response("slow down", { status: 429, headers: { "retry-after": "7" } }), ctx());
    expect(res.headers.get("retry-after")).toBe("7");
    expect(await envelopeOf(res)).toMatchObject({ code: "RATE_LIMIT_EXCEEDED", details: { retryAfter: 7 } });
  });

  it("never carries 5xx text to the client, envelope or not", async () => {
    const leaky = { error: "db down on psa-db-7.internal", code: "INTERNAL_ERROR", details: { stack: "at x (y.js:1)" } };
    const res = await normalizeUpstream(json(leaky, 500), ctx());
    const text = await res.text();
    expect(res.status).toBe(500);
    expect(text).not.toContain("psa-db-7");
    expect(text).not.toContain("stack");
    expect(JSON.parse(text)).toMatchObject({ code: "INTERNAL_ERROR", details: { upstreamStatus: 500 } });
  });

  it("turns an HTML 502 into BAD_GATEWAY with the upstream status only", async () => {
    const res = await normalizeUpstream(new Response("<html>nginx psa-db-7.internal</html>", { status: 502, headers: { "content-type": "text/html" } }), ctx());
    expect(res.status).toBe(502);
    const body = await envelopeOf(res);
    expect(body).toEqual({ error: expect.any(String), code: "BAD_GATEWAY", details: { upstreamStatus: 502 } });
    expect(body.error).not.toContain("nginx");
  });

  it("maps 503 and 504 to their own codes", async () => {
    expect((await envelopeOf(await normalizeUpstream(new Response("", { status: 503, headers: { "retry-after": "30" } }), ctx()))).code).toBe("SERVICE_UNAVAILABLE");
    expect((await envelopeOf(await normalizeUpstream(new Response("", { status: 504 }), ctx()))).code).toBe("GATEWAY_TIMEOUT");
  });

  it("does not trust an envelope it could not read whole", async () => {
    const huge = JSON.stringify({ error: "x".repeat(MAX_ERROR_BODY_BYTES), code: "NOT_FOUND", details: null });
    const res = await normalizeUpstream(new Response(huge, { status: 404 }), ctx());
    const body = await envelopeOf(res);
    expect(body.code).toBe("NOT_FOUND");
    expect(body.error.length).toBeLessThan(200);
  });

  it("passes redirects through with a product-relative Location mapped onto the product's public path", async () => {
    const res = await normalizeUpstream(new Response(null, { status: 302, headers: { location: "/tickets" } }), ctx());
    expect(res.status).toBe(302);
    expect(res.headers.get("location")).toBe("/psa/tickets");
  });

  it("drops a 204's Content-Length and body", async () => {
    const res = await normalizeUpstream(new Response(null, { status: 204, headers: { "content-length": "5", etag: '"v2"' } }), ctx());
    expect(res.status).toBe(204);
    expect(res.headers.get("content-length")).toBeNull();
    expect(res.headers.get("etag")).toBe('"v2"');
  });

  it("never copies the upstream status text", async () => {
    const res = await normalizeUpstream(new Response("ok", { status: 200, statusText: "OK from db-7.internal" }), ctx());
    expect(res.statusText).not.toContain("db-7");
  });

  it("converts an HTTP-date Retry-After on a 429 to whole seconds, rounded up", async () => {
    const at = new Date(NOW + 90_500).toUTCString(); // toUTCString drops the 500 ms: 90 s exactly
    const res = await normalizeUpstream(new Response("busy", { status: 429, headers: { "retry-after": at } }), ctx());
    expect(res.headers.get("retry-after")).toBe("90");
    expect((await envelopeOf(res)).details).toEqual({ retryAfter: 90 });
  });

  it("answers 504 GATEWAY_TIMEOUT when an error body stalls past the deadline", async () => {
    const stalled = new ReadableStream<Uint8Array>({
      start(controller) {
        controller.enqueue(new TextEncoder().encode('{"error":"part'));
      },
    });
    const deadline = new Deadline(20);
    deadline.start();
    const err = await normalizeUpstream(new Response(stalled, { status: 500 }), ctx(deadline)).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(GatewayError);
    expect(err).toMatchObject({ code: "GATEWAY_TIMEOUT", status: 504, details: { timeoutMs: 20 } });
  });

  it("judges a 500 by its status, not as a timeout, when another abort of the upstream call ends the error body's read", async () => {
    const stalled = new ReadableStream<Uint8Array>({
      start(controller) {
        controller.enqueue(new TextEncoder().encode('{"error":"part'));
      },
    });
    // The deadline shares the upstream call's controller (src/proxy/forward.ts): a failed upload aborts it too.
    const upstreamCall = new AbortController();
    const deadline = new Deadline(60_000, upstreamCall);
    deadline.start();
    const pending = normalizeUpstream(new Response(stalled, { status: 500 }), ctx(deadline));
    upstreamCall.abort();
    const res = await pending;
    deadline.clear();
    expect(res.status).toBe(502);
    expect(await envelopeOf(res)).toMatchObject({ code: "BAD_GATEWAY", details: { upstreamStatus: 500 } });
  });
});

describe("product text in a 4xx, checked before it reaches the client", () => {
  const UNSAFE_NAMES = ["<img src=x onerror=alert(1)>", "a\nb", "x".repeat(101), "", "na me", "title\u202e"];

  it.each(UNSAFE_NAMES)("drops the field name %j from a non-envelope 400, keeping the safe ones", async (name) => {
    const res = await normalizeUpstream(json({ errors: { [name]: "is wrong", title: "is required" } }, 400), ctx());
    expect(await envelopeOf(res)).toEqual({ error: "Validation failed", code: "VALIDATION_ERROR", details: { fields: { title: "is required" } } });
  });

  it("keeps field names as products write them: dotted, indexed, snake and kebab case", async () => {
    const fields = { "address.street": "is required", "items[0].qty": "must be positive", due_date: "is invalid", "x-ref": "is taken" };
    const res = await normalizeUpstream(json({ errors: fields }, 400), ctx());
    expect((await envelopeOf(res)).details).toEqual({ fields });
  });

  it("does not pass a VALIDATION_ERROR envelope whose field names fail the check: it is rebuilt with the safe ones", async () => {
    const res = await normalizeUpstream(json({ error: "Validation failed", code: "VALIDATION_ERROR", details: { fields: { "<script>": "bad", title: "is required" } } }, 400), ctx());
    expect(await envelopeOf(res)).toEqual({ error: "Validation failed", code: "VALIDATION_ERROR", details: { fields: { title: "is required" } } });
  });

  it("keeps field names in any script's letters", async () => {
    const res = await normalizeUpstream(json({ errors: { título: "es obligatorio", 名前: "必須です" } }, 400), ctx());
    expect((await envelopeOf(res)).details).toEqual({ fields: { título: "es obligatorio", 名前: "必須です" } });
  });

  it.each([
    ["a stack frame", { trace: "at handler (/srv/psa/app.js:10:5)" }],
    ["markup", { hint: "<a href=//evil.example>help</a>" }],
    ["a control character, nested", { resource: { id: "tkt\u001b[31m" } }],
    ["a bidi override in a key", { "id\u202e": "tkt_1" }],
  ])("does not pass an envelope whose details hold product text with %s: rebuilt, its details dropped", async (_label, details) => {
    const res = await normalizeUpstream(json({ error: "Ticket not found", code: "NOT_FOUND", details }, 404), ctx());
    expect(await envelopeOf(res)).toEqual({ error: "Ticket not found", code: "NOT_FOUND", details: null });
  });

  it("passes an envelope whose details are plain values byte for byte", async () => {
    const bytes = '{"error":"Ticket not found","code":"NOT_FOUND","details":{"resource":{"type":"ticket","ids":["tkt_1","tkt_2"]},"count":2,"archived":false,"note":null}}';
    const res = await normalizeUpstream(new Response(bytes, { status: 404, headers: { "content-type": "application/json" } }), ctx());
    expect(await res.text()).toBe(bytes);
  });

  it("does not pass a VALIDATION_ERROR envelope whose field text fails the check", async () => {
    const res = await normalizeUpstream(json({ error: "Validation failed", code: "VALIDATION_ERROR", details: { fields: { title: "at Object.<anonymous> (/srv/app.js:1:1)" } } }, 400), ctx());
    expect(await envelopeOf(res)).toEqual({ error: "Validation failed", code: "VALIDATION_ERROR", details: { fields: {} } });
  });

  it.each([
    ["markup", "<b>Ticket</b> not found"],
    ["a control character", "Ticket\u0000not found"],
    ["a stack frame", "TypeError at handler (/srv/psa/app.js:10:5)"],
    ["too long", "x".repeat(201)],
    ["blank", "   "],
    ["a bidi override", "Ticket \u202egnp.exe"],
  ])("replaces a valid envelope's error text that is %s with the generic message, keeping its code", async (_label, text) => {
    const res = await normalizeUpstream(json({ error: text, code: "DUPLICATE_RESOURCE", details: { resourceId: "tkt_1" } }, 409), ctx());
    expect(res.status).toBe(409);
    expect(await envelopeOf(res)).toEqual({ error: "Resource already exists", code: "DUPLICATE_RESOURCE", details: null });
  });
});

describe("an error body cut off by the upstream", () => {
  function cutBody(status: number, headers: Record<string, string> = {}): Response {
    const body = new ReadableStream<Uint8Array>({
      start(controller) {
        controller.enqueue(new TextEncoder().encode('{"error":"Ticket not fo'));
        controller.error(new Error("Network connection lost."));
      },
    });
    return new Response(body, { status, headers });
  }

  it.each([
    [500, 502, "BAD_GATEWAY"],
    [404, 404, "NOT_FOUND"],
    [503, 503, "SERVICE_UNAVAILABLE"],
  ])("turns a cut %i into %i %s, not an unexpected error", async (status, expected, code) => {
    const res = await normalizeUpstream(cutBody(status), ctx());
    expect(res.status).toBe(expected);
    expect((await envelopeOf(res)).code).toBe(code);
  });

  it("keeps Retry-After from a cut 429", async () => {
    const res = await normalizeUpstream(cutBody(429, { "retry-after": "9" }), ctx());
    expect(res.headers.get("retry-after")).toBe("9");
    expect((await envelopeOf(res)).details).toEqual({ retryAfter: 9 });
  });
});

describe("readPrefix", () => {
  it("reads no more than the bound from an endless stream", async () => {
    let pulled = 0;
    const endless = new ReadableStream<Uint8Array>({
      pull(controller) {
        pulled += 1;
        controller.enqueue(new Uint8Array(1024));
        if (pulled > 10_000) controller.close();
      },
    });
    const { bytes, complete } = await readPrefix(endless, 4096, new AbortController().signal);
    expect(complete).toBe(false);
    expect(bytes.byteLength).toBeLessThanOrEqual(4096);
    expect(pulled).toBeLessThan(10);
  });
});

describe("isValidEnvelope", () => {
  it.each([
    [{ error: "x", code: "NOT_FOUND" }, true],
    [{ error: "x", code: "NOT_FOUND", details: null }, true],
    [{ error: "x", code: "not_a_code" }, false],
    [{ error: 1, code: "NOT_FOUND" }, false],
    [{ error: "x", code: "NOT_FOUND", details: [] }, false],
    [[], false],
  ])("judges %j as %s", (value, ok) => {
    expect(isValidEnvelope(value)).toBe(ok);
  });
});
