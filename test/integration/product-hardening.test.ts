/**
 * What a client receives from a faulty or careless product (issue 9, items 1, 6, 8, 9, 10): every answer is
 * defined and bounded in time, and nothing the gateway owns (CORS, the session cookie, the identity
 * namespace, its origin) can be set or revealed by a product.
 */
import { env } from "cloudflare:workers";
import { beforeAll, describe, expect, it, vi } from "vitest";
import { call, createKey, envelope, rid, tenant } from "../support/gateway";
import { callWith, envWith } from "../support/worker";

let key = "";
beforeAll(async () => {
  ({ key } = await createKey(tenant("hardening"), { psa: "write" }));
});

function fault(mode: string, customEnv?: Env): Promise<Response> {
  const init = { headers: { "x-integration-key": key, "x-demo-fault": mode }, redirect: "manual" as const };
  return customEnv === undefined ? call("/psa/tickets", init) : callWith(customEnv, "/psa/tickets", init);
}

describe("an error body that stalls (item 1)", () => {
  it.each([500, 404, 429])("answers a stalled %i body with 504 GATEWAY_TIMEOUT and X-Request-Id within the product timeout, and logs it", async (status) => {
    const id = rid("stall");
    const lines: string[] = [];
    const spy = vi.spyOn(console, "log").mockImplementation((...args: unknown[]) => void lines.push(args.map(String).join(" ")));
    const res = await callWith(envWith({ UPSTREAM_TIMEOUT_MS_PSA: "200" }), "/psa/tickets", { headers: { "x-integration-key": key, "x-demo-fault": `stall-error=${status}`, "x-request-id": id } });
    spy.mockRestore();
    expect(res.status).toBe(504);
    expect(res.headers.get("x-request-id")).toBe(id);
    expect(await envelope(res)).toMatchObject({ code: "GATEWAY_TIMEOUT", details: { timeoutMs: 200 } });
    const line = lines.map((l) => JSON.parse(l) as Record<string, unknown>).find((l) => l.requestId === id && l.msg === "request");
    expect(line).toMatchObject({ status: 504, code: "GATEWAY_TIMEOUT", upstreamStatus: status });
  });
});

describe("a pass-through body (sibling of item 1)", () => {
  it("cuts a 200 body that stalls for the product timeout instead of hanging", async () => {
    const res = await fault("stall-body=200", envWith({ UPSTREAM_TIMEOUT_MS_PSA: "200" }));
    expect(res.status).toBe(200);
    await expect(res.text()).rejects.toThrow();
  });

  it("never cuts a download that keeps moving, however long it takes in total", async () => {
    // Five chunks 80 ms apart: 400 ms in all, more than the 300 ms timeout, but never 300 ms between two.
    const res = await fault("trickle=80", envWith({ UPSTREAM_TIMEOUT_MS_PSA: "300" }));
    expect(res.status).toBe(200);
    expect(await res.text()).toBe("chunk 0\nchunk 1\nchunk 2\nchunk 3\nchunk 4\n");
  });
});

describe("product 4xx envelopes (item 6)", () => {
  it("normalizes a 404 envelope whose code belongs to another status", async () => {
    const res = await fault("envelope=404,RATE_LIMIT_EXCEEDED");
    expect(res.status).toBe(404);
    expect(res.headers.get("retry-after")).toBeNull();
    expect((await envelope(res)).code).toBe("NOT_FOUND");
  });

  it("normalizes a 429 envelope saying INTERNAL_ERROR and keeps its Retry-After", async () => {
    const res = await fault("envelope=429,INTERNAL_ERROR");
    expect(res.status).toBe(429);
    expect(res.headers.get("retry-after")).toBe("7");
    expect(await envelope(res)).toMatchObject({ code: "RATE_LIMIT_EXCEEDED", details: { retryAfter: 7 } });
  });

  it("passes a 429 RATE_LIMIT_EXCEEDED envelope byte for byte with its Retry-After", async () => {
    const res = await fault("envelope=429,RATE_LIMIT_EXCEEDED");
    expect(res.status).toBe(429);
    expect(res.headers.get("retry-after")).toBe("7");
    expect(await res.text()).toBe('{"error":"Product says so","code":"RATE_LIMIT_EXCEEDED","details":null}');
  });

  it("normalizes an envelope whose code is not in the code table", async () => {
    const res = await fault("envelope=400,TICKET_LOCKED");
    expect(res.status).toBe(400);
    expect(await envelope(res)).toMatchObject({ code: "VALIDATION_ERROR", details: { fields: {} } });
  });

  it.each([
    ["409 DUPLICATE_RESOURCE", "envelope=409,DUPLICATE_RESOURCE", 409, '{"error":"Product says so","code":"DUPLICATE_RESOURCE","details":null}'],
    ["422 VALIDATION_ERROR", "json-422", 422, '{"error":"Validation failed","code":"VALIDATION_ERROR","details":{"fields":{"title":"is required"}}}'],
  ])("passes an envelope whose code belongs to its status (%s) byte for byte", async (_label, mode, status, bytes) => {
    const res = await fault(mode);
    expect(res.status).toBe(status);
    expect(await res.text()).toBe(bytes);
  });

  it.each([
    ["SERVICE_UNAVAILABLE", 502, "BAD_GATEWAY"],
    ["GATEWAY_TIMEOUT", 502, "BAD_GATEWAY"],
    ["INTERNAL_ERROR", 500, "INTERNAL_ERROR"],
  ])("keeps a 5xx envelope's code %s only on its own status (500 -> %i %s)", async (code, status, expected) => {
    const res = await fault(`envelope=500,${code}`);
    expect(res.status).toBe(status);
    expect(await envelope(res)).toMatchObject({ code: expected, details: { upstreamStatus: 500 } });
  });

  it("sends an error with the gateway's headers and none of the product's own", async () => {
    const res = await fault("leaky-headers=404");
    expect(res.status).toBe(404);
    for (const name of ["x-debug-host", "x-backend-server", "server", "x-powered-by", "via", "set-cookie", "etag", "x-product-hint", "x-onestack-tenant-id", "access-control-allow-origin"]) {
      expect(res.headers.get(name), name).toBeNull();
    }
    expect(res.headers.get("content-type")).toBe("application/json; charset=utf-8");
    expect(res.headers.get("x-request-id")).toMatch(/\S/);
    expect((await envelope(res)).code).toBe("NOT_FOUND");
  });
});

describe("pass-through response headers (item 8)", () => {
  it("drops the product's CORS, session cookie, identity namespace and host-revealing headers", async () => {
    const res = await fault("leaky-headers=200");
    expect(res.status).toBe(200);
    for (const name of ["access-control-allow-origin", "access-control-allow-credentials", "access-control-expose-headers", "x-onestack-tenant-id", "x-onestack_principal-id", "server", "x-powered-by", "via", "x-backend-server", "x-debug-host", "alt-svc"]) {
      expect(res.headers.get(name), name).toBeNull();
    }
    // The product's own cookie, scoped to its public path: no other product on the origin receives it.
    expect(res.headers.getSetCookie()).toEqual(["theme=dark; Path=/psa"]);
    expect(res.headers.get("etag")).toBe('"v1"');
    expect(res.headers.get("x-product-hint")).toBe("kept");
    expect(res.statusText).not.toContain("psa-db-7");
    expect(await res.json()).toEqual({ ok: true, fault: "leaky-headers" });
  });

  it("rewrites a Location on the product's own origin onto the gateway's public path", async () => {
    const res = await fault("location-self=/tickets/1?x=1");
    expect(res.status).toBe(302);
    expect(res.headers.get("location")).toBe("https://gateway.test/psa/tickets/1?x=1");
    expect(res.headers.get("content-location")).toBe("https://gateway.test/psa/tickets/1?x=1");
    expect(res.headers.get("link")).toBe('<https://gateway.test/psa/tickets/1?x=1>; rel="next", <https://docs.example/help>; rel="help"');
    expect(res.headers.get("refresh")).toBe("5; url=https://gateway.test/psa/tickets/1?x=1");
  });

  it.each([
    ["/tickets/2", "/psa/tickets/2"],
    ["tickets/3", "/psa/tickets/3"],
    ["/", "/psa/"],
    ["http://evil.example/x", "http://evil.example/x"],
  ])("rewrites a Location of %s to %s", async (location, expected) => {
    const res = await fault(`location=${location}`);
    expect(res.headers.get("location")).toBe(expected);
  });

  it("maps the upstream's own base path, and drops a Location outside it", async () => {
    const withBase = envWith({ UPSTREAM_PSA: `${env.UPSTREAM_PSA}/v2` });
    const inside = await fault("location-self=/v2/tickets/1", withBase);
    expect(inside.headers.get("location")).toBe("https://gateway.test/psa/tickets/1");
    const relative = await fault("location=/v2/tickets/4", withBase);
    expect(relative.headers.get("location")).toBe("/psa/tickets/4");
    const outside = await fault("location-self=/admin/x", withBase);
    expect(outside.status).toBe(302);
    expect(outside.headers.get("location")).toBeNull();
  });
});

describe("odd upstream status lines (item 9)", () => {
  it("answers a 101 final status with 502 BAD_GATEWAY", async () => {
    const res = await fault("raw-status=101");
    expect(res.status).toBe(502);
    expect(await envelope(res)).toMatchObject({ code: "BAD_GATEWAY", details: { upstreamStatus: 101 } });
  });

  it("passes a 200 whose reason phrase holds a tab, without the phrase", async () => {
    const res = await fault("reason-tab=200");
    expect(res.status).toBe(200);
    expect(res.statusText).not.toContain("\t");
    expect(await res.json()).toEqual({ ok: true });
  });

  it("normalizes a 404 whose reason phrase holds a tab", async () => {
    const res = await fault("reason-tab=404");
    expect(res.status).toBe(404);
    expect((await envelope(res)).code).toBe("NOT_FOUND");
  });

  it.each([204, 304])("passes a %i that came with a body, without the body", async (status) => {
    const res = await fault(`body-on=${status}`);
    expect(res.status).toBe(status);
    expect(res.headers.get("etag")).toBe('"v1"');
    expect(await res.text()).toBe("");
  });

  it.each([199, 600, 999])("answers an upstream status %i with a defined envelope, never 500", async (status) => {
    const res = await fault(`raw-status=${status}`);
    expect(res.status).toBe(502);
    expect((await envelope(res)).code).toBe("BAD_GATEWAY");
  });
});

describe("Retry-After and unknown 4xx (item 10)", () => {
  it.each([429, 503])("converts an HTTP-date Retry-After on a %i to delta-seconds, never early", async (status) => {
    const res = await fault(`retry-date=${status}`);
    expect(res.status).toBe(status);
    // The backend sends now + 120 s, truncated to the second; allow for the test's own latency.
    const seconds = Number(res.headers.get("retry-after"));
    expect(seconds).toBeGreaterThanOrEqual(110);
    expect(seconds).toBeLessThanOrEqual(120);
  });

  it.each([407, 418, 431, 499])("keeps an unknown %i with VALIDATION_ERROR and details.fields", async (status) => {
    const res = await fault(`text-${status}`);
    expect(res.status).toBe(status);
    expect(await envelope(res)).toMatchObject({ code: "VALIDATION_ERROR", details: { fields: {} } });
  });

  it("maps a 412 to CONFLICT (a failed If-Match is a version conflict)", async () => {
    const res = await fault("text-412");
    expect(res.status).toBe(412);
    expect((await envelope(res)).code).toBe("CONFLICT");
  });
});
