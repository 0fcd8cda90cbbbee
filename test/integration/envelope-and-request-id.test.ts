import { beforeAll, describe, expect, it } from "vitest";
import { ADMIN, call, createKey, envelope, recorded, rid, tenant } from "../support/gateway";
import { callWith, envWith } from "../support/worker";

let key = "";
beforeAll(async () => {
  ({ key } = await createKey(tenant("core"), { psa: "write", rmm: "write" }));
});

describe("the error envelope", () => {
  it("answers an unknown product with NOT_FOUND JSON and forwards nothing", async () => {
    const id = rid();
    const res = await call("/crm/contacts", { headers: { "x-integration-key": key, "x-request-id": id } });
    expect(res.status).toBe(404);
    expect(await envelope(res)).toEqual({ error: expect.any(String), code: "NOT_FOUND", details: null });
    expect(await recorded("psa", id)).toHaveLength(0);
  });

  it("answers an unknown route of a known product with NOT_FOUND and forwards nothing", async () => {
    const id = rid();
    const res = await call("/psa/invoices", { headers: { "x-integration-key": key, "x-request-id": id } });
    expect(res.status).toBe(404);
    expect((await envelope(res)).code).toBe("NOT_FOUND");
    expect(await recorded("psa", id)).toHaveLength(0);
  });

  it("answers a known path with an unconfigured method with 405 METHOD_NOT_ALLOWED and Allow", async () => {
    const res = await call("/psa/tickets", { method: "DELETE", headers: { "x-integration-key": key } });
    expect(res.status).toBe(405);
    expect(res.headers.get("allow")).toBe("GET, HEAD, POST");
    expect(await envelope(res)).toMatchObject({ code: "METHOD_NOT_ALLOWED", details: { allowed: ["GET", "HEAD", "POST"] } });
  });

  it("answers an unusual method on a product path with 405, not a crash", async () => {
    const res = await call("/psa/tickets", { method: "PROPFIND", headers: { "x-integration-key": key } });
    expect(res.status).toBe(405);
    expect((await envelope(res)).code).toBe("METHOD_NOT_ALLOWED");
  });

  it("keeps the reserved prefix away from products", async () => {
    const res = await call("/__gateway/anything");
    expect(res.status).toBe(404);
    expect((await envelope(res)).code).toBe("NOT_FOUND");
  });

  it("turns a broken configuration into a generic INTERNAL_ERROR without the detail", async () => {
    const res = await callWith(envWith({ UPSTREAM_PSA: "ftp://internal-host.example" }), "/psa/tickets", { headers: { "x-integration-key": key } });
    expect(res.status).toBe(500);
    const text = await res.text();
    expect(JSON.parse(text)).toEqual({ error: expect.any(String), code: "INTERNAL_ERROR", details: null });
    expect(text).not.toContain("internal-host");
    expect(text).not.toContain("UPSTREAM_PSA");
  });

  it("marks error responses as not cacheable", async () => {
    const res = await call("/nope");
    expect(res.headers.get("cache-control")).toBe("no-store");
  });

  // The envelope's header sets are built once and copied into each response (src/errors.ts): what a later step
  // sets or appends on one refusal (X-Request-Id, CORS's Vary) must not reach the next refusal of the same shape.
  it("gives each of a run of identical refusals its own headers: its id, one Vary, CORS only where asked", async () => {
    const origin = "http://localhost:5173";
    for (const withOrigin of [true, true, false, true, false]) {
      const id = rid("same-shape");
      const res = await call("/psa/tickets", { headers: { "x-request-id": id, ...(withOrigin ? { origin } : {}) } });
      expect(res.status).toBe(401);
      expect(await envelope(res)).toEqual({ error: "Authentication required", code: "UNAUTHORIZED", details: null });
      expect(res.headers.get("x-request-id")).toBe(id);
      expect(res.headers.get("content-type")).toBe("application/json; charset=utf-8");
      expect(res.headers.get("cache-control")).toBe("no-store");
      expect(res.headers.get("vary")).toBe(withOrigin ? "Origin" : null);
      expect(res.headers.get("access-control-allow-origin")).toBe(withOrigin ? origin : null);
    }
  });

  it("keeps an error's own headers on each of a run of identical refusals, and nothing from another shape", async () => {
    for (const method of ["DELETE", "DELETE", "PUT"]) {
      const res = await call("/psa/tickets", { method, headers: { "x-integration-key": key } });
      expect(res.status).toBe(405);
      expect(res.headers.get("allow")).toBe("GET, HEAD, POST");
      expect(res.headers.get("cache-control")).toBe("no-store");
    }
    const notFound = await call("/psa/invoices", { headers: { "x-integration-key": key } });
    expect(notFound.status).toBe(404);
    expect(notFound.headers.get("allow")).toBeNull();
    expect(notFound.headers.get("content-type")).toBe("application/json; charset=utf-8");
  });
});

describe("X-Request-Id", () => {
  it("keeps a safe incoming id, returns it and forwards it upstream", async () => {
    const id = rid("keep");
    const res = await call("/psa/tickets", { headers: { "x-integration-key": key, "x-request-id": id } });
    expect(res.status).toBe(200);
    expect(res.headers.get("x-request-id")).toBe(id);
    const [got] = await recorded("psa", id);
    expect(got?.headers["x-request-id"]).toBe(id);
  });

  it.each([
    ["quote", 'abc12345"x'],
    ["markup", "<script>alert(1)</script>"],
    ["too long", "a".repeat(200)],
  ])("replaces an unsafe incoming id (%s) with a fresh one, and forwards only the fresh one", async (_name, bad) => {
    const res = await call("/psa/tickets", { headers: { "x-integration-key": key, "x-request-id": bad } });
    expect(res.status).toBe(200);
    const id = res.headers.get("x-request-id") ?? "";
    expect(id).not.toBe(bad);
    expect(id).toMatch(/^[0-9a-f-]{36}$/);
    const got = await recorded("psa", id);
    expect(got).toHaveLength(1);
    expect(got[0]?.rawHeaders.filter(([name]) => name.toLowerCase() === "x-request-id")).toEqual([["x-request-id", id]]);
    expect(JSON.stringify(got[0]?.rawHeaders)).not.toContain(JSON.stringify(bad).slice(1, -1));
  });

  it.each([
    ["401", "/psa/tickets", () => ({}), 401, "UNAUTHORIZED"],
    ["404", "/nope", () => ({}), 404, "NOT_FOUND"],
    ["405", "/psa/tickets", () => ({ method: "DELETE", headers: { "x-integration-key": key } }), 405, "METHOD_NOT_ALLOWED"],
    ["admin", "/__gateway/admin/tenants/x/keys", () => ({ headers: ADMIN }), 200, null],
  ])("is on every kind of response: %s", async (_kind, path, init: () => RequestInit, status, code) => {
    const res = await call(path, init());
    expect(res.status).toBe(status);
    expect(res.headers.get("x-request-id")).toMatch(/^[0-9a-f-]{36}$/);
    if (code === null) expect(await res.json()).toEqual({ data: [] });
    else expect((await envelope(res)).code).toBe(code);
  });

  it("is on a response when the configuration is broken", async () => {
    const res = await callWith(envWith({ MAX_JSON_BYTES: "lots" }), "/psa/tickets", { headers: { "x-request-id": "broken-config-1" } });
    expect(res.status).toBe(500);
    expect(res.headers.get("x-request-id")).toBe("broken-config-1");
  });
});
