import { createExecutionContext, waitOnExecutionContext } from "cloudflare:test";
import { beforeAll, describe, expect, it } from "vitest";
import worker from "../../src/index";
import { call, createKey, envelope, recorded, rid, tenant, until } from "../support/gateway";
import { envWith } from "../support/worker";

// Strings that appear only in the demo backends' fault bodies (dev/backends/faults.mjs).
const LEAKS = ["psa-db-7.internal", "10.0.7.12", "/srv/", "nginx", "ETIMEDOUT", "at Pool.query"];

let key = "";
beforeAll(async () => {
  ({ key } = await createKey(tenant("faults"), { psa: "write" }));
});

function fault(mode: string, init: RequestInit = {}): Promise<Response> {
  return call("/psa/tickets", { ...init, headers: { "x-integration-key": key, "x-demo-fault": mode, ...(init.headers as Record<string, string>) } });
}

async function expectNoLeak(res: Response): Promise<Record<string, unknown>> {
  const text = await res.text();
  for (const marker of LEAKS) expect(text).not.toContain(marker);
  expect(res.headers.get("content-type")).toMatch(/^application\/json/);
  return JSON.parse(text) as Record<string, unknown>;
}

describe("upstream errors as the client sees them", () => {
  it("passes the product's own envelopes through (validation with details.fields)", async () => {
    const res = await call("/psa/tickets", { method: "POST", headers: { "x-integration-key": key, "content-type": "application/json" }, body: '{"priority":"urgent"}' });
    expect(res.status).toBe(400);
    expect(await envelope(res)).toMatchObject({ code: "VALIDATION_ERROR", details: { fields: { title: expect.any(String), priority: expect.any(String) } } });
  });

  it("passes a product 404 envelope through with its details", async () => {
    const res = await call("/psa/tickets/tkt_nonexistent", { headers: { "x-integration-key": key } });
    expect(res.status).toBe(404);
    expect(await envelope(res)).toMatchObject({ code: "NOT_FOUND", details: { resourceType: "ticket", resourceId: "tkt_nonexistent" } });
  });

  it("passes CONFLICT and DUPLICATE_RESOURCE through", async () => {
    const externalId = rid("ext");
    const create = () => call("/psa/tickets", { method: "POST", headers: { "x-integration-key": key, "content-type": "application/json" }, body: JSON.stringify({ title: "a", externalId }) });
    const first = (await (await create()).json()) as { id: string };
    const dup = await create();
    expect(dup.status).toBe(409);
    expect((await envelope(dup)).code).toBe("DUPLICATE_RESOURCE");
    const stale = await call(`/psa/tickets/${first.id}`, { method: "PATCH", headers: { "x-integration-key": key, "content-type": "application/json" }, body: '{"title":"b","_etag":"v0"}' });
    expect(stale.status).toBe(409);
    expect(await envelope(stale)).toMatchObject({ code: "CONFLICT", details: { currentVersion: "v1", submittedVersion: "v0" } });
  });

  it("turns a non-envelope 400 into VALIDATION_ERROR with the fields it can derive", async () => {
    const res = await fault("json-400");
    expect(res.status).toBe(400);
    expect(await envelope(res)).toMatchObject({ code: "VALIDATION_ERROR", details: { fields: { title: "is required" } } });
  });

  it.each([
    ["text-401", 401, "UNAUTHORIZED"],
    ["text-403", 403, "FORBIDDEN"],
    ["text-404", 404, "NOT_FOUND"],
    ["text-409", 409, "CONFLICT"],
    ["empty-404", 404, "NOT_FOUND"],
    ["text-405", 405, "METHOD_NOT_ALLOWED"],
    ["text-413", 413, "PAYLOAD_TOO_LARGE"],
    ["text-422", 422, "VALIDATION_ERROR"],
    ["text-418", 418, "VALIDATION_ERROR"],
  ])("turns a plain %s into its code, keeping the status and leaking nothing", async (mode, status, code) => {
    const res = await fault(mode);
    expect(res.status).toBe(status);
    const body = await expectNoLeak(res);
    expect(body.code).toBe(code);
    if (code === "VALIDATION_ERROR") expect(body.details).toEqual({ fields: {} });
  });

  it.each([
    ["text-429", 429, { code: "RATE_LIMIT_EXCEEDED", details: { retryAfter: 7 } }],
    ["text-503", 503, { code: "SERVICE_UNAVAILABLE", details: { upstreamStatus: 503 } }],
    ["empty-503", 503, { code: "SERVICE_UNAVAILABLE", details: { upstreamStatus: 503 } }],
  ])("keeps the product's Retry-After in whole seconds on a %s", async (mode, status, expected) => {
    const res = await fault(mode);
    expect([res.status, res.headers.get("retry-after")]).toEqual([status, "7"]);
    expect(await expectNoLeak(res)).toMatchObject(expected);
  });

  it("keeps the product's Allow on its 405", async () => {
    const res = await fault("text-405");
    expect(res.status).toBe(405);
    expect(res.headers.get("allow")).toBe("GET, HEAD");
  });

  it.each([
    ["html-502", 502, "BAD_GATEWAY"],
    ["json-500", 502, "BAD_GATEWAY"],
    ["envelope-500", 500, "INTERNAL_ERROR"],
    ["empty-500", 502, "BAD_GATEWAY"],
    ["text-503", 503, "SERVICE_UNAVAILABLE"],
    ["text-504", 504, "GATEWAY_TIMEOUT"],
  ])("turns an upstream %s into %i %s with no upstream text", async (mode, status, code) => {
    const res = await fault(mode);
    expect(res.status).toBe(status);
    const body = await expectNoLeak(res);
    expect(body.code).toBe(code);
    expect(body.details).toMatchObject({ upstreamStatus: Number(mode.match(/\d{3}/)?.[0]) });
  });

  it("reads only a bounded prefix of a huge error body and hangs up on the rest", async () => {
    const id = rid("huge");
    const size = 100 * 1024 * 1024;
    const res = await fault(`large-error=${size}`, { headers: { "x-request-id": id } });
    expect(res.status).toBe(502);
    expect((await expectNoLeak(res)).code).toBe("BAD_GATEWAY");
    // The product wrote what the connection took before the gateway hung up: the 64 KiB prefix plus what
    // the socket buffers hold on loopback (a few MiB), never the 100 MiB it was ready to send.
    const [got] = await recorded("psa", id);
    expect(got).toMatchObject({ responseStatus: 500, responseAborted: true });
    expect(got?.responseBytes).toBeLessThan(16 * 1024 * 1024);
  });

  it("turns a dropped connection into BAD_GATEWAY", async () => {
    const res = await fault("drop");
    expect(res.status).toBe(502);
    expect(await expectNoLeak(res)).toMatchObject({ code: "BAD_GATEWAY", details: { reason: "upstream_unreachable" } });
  });

  it("turns a refused connection into BAD_GATEWAY", async () => {
    const { callWith } = await import("../support/worker");
    const res = await callWith(envWith({ UPSTREAM_PSA: "http://127.0.0.1:9" }), "/psa/tickets", { headers: { "x-integration-key": key } });
    expect(res.status).toBe(502);
    expect((await expectNoLeak(res)).code).toBe("BAD_GATEWAY");
  });

  it("enforces the upstream timeout with GATEWAY_TIMEOUT and closes the product's connection", async () => {
    const { callWith } = await import("../support/worker");
    const id = rid("timeout");
    const res = await callWith(envWith({ UPSTREAM_TIMEOUT_MS_PSA: "150" }), "/psa/tickets", { headers: { "x-integration-key": key, "x-demo-fault": "slow=20000", "x-request-id": id } });
    expect(res.status).toBe(504);
    expect(await envelope(res)).toMatchObject({ code: "GATEWAY_TIMEOUT", details: { timeoutMs: 150 } });
    // The product saw the gateway abort its call: the connection closed before it answered.
    const [got] = await recorded("psa", id);
    expect(got).toMatchObject({ responseStatus: null, responseAborted: true });
  });

  it("passes redirects through, never following them, with a product-relative Location on the public path", async () => {
    for (const [mode, location] of [["redirect", "/psa/tickets"], ["redirect-external", "http://evil.example/x"]]) {
      // redirect: "manual" so the test's own fetch does not follow what the gateway passed through.
      const res = await fault(mode ?? "", { redirect: "manual" });
      expect(res.status).toBe(302);
      expect(res.headers.get("location")).toBe(location);
    }
  });

  // workerd never tells a Worker that its client went away (docs/operations.md, "What the runtime handles"), so no test
  // can show that. What the gateway does with the request's own signal can be shown, with a signal the
  // test aborts itself.
  it("aborts the product's call with BAD_GATEWAY when the request's signal aborts", async () => {
    const id = rid("signal");
    const client = new AbortController();
    const request = new Request("https://gateway.test/psa/tickets", { headers: { "x-integration-key": key, "x-demo-fault": "slow=60000", "x-request-id": id }, signal: client.signal });
    const ctx = createExecutionContext();
    const pending = worker.fetch(request, envWith({}), ctx);
    // Abort once the product holds the call, so the abort is the only thing that can end it.
    await until(async () => (await recorded("psa", id, 0)).length === 1);
    client.abort();
    const res = await pending;
    await waitOnExecutionContext(ctx);
    expect(res.status).toBe(502);
    expect(await envelope(res)).toMatchObject({ code: "BAD_GATEWAY", details: { reason: "upstream_unreachable" } });
    const [got] = await recorded("psa", id);
    expect(got).toMatchObject({ responseStatus: null, responseAborted: true });
  });
});
