import { afterEach, beforeAll, describe, expect, it, vi } from "vitest";
import { ADMIN, call, createKey, envelope, recorded, rid, sessionToken, tenant } from "../support/gateway";
import { captureLogs } from "../support/logs";
import { callWith, envWith } from "../support/worker";

let key = "";
let tenantId = "";
beforeAll(async () => {
  tenantId = tenant("ops");
  ({ key } = await createKey(tenantId, { psa: "write" }));
});

afterEach(() => {
  vi.restoreAllMocks();
});

describe("structured logs", () => {
  it("writes exactly one request line with the decision fields", async () => {
    const id = rid("log");
    const lines = await captureLogs(() => call("/psa/tickets?secret=not-logged", { headers: { "x-integration-key": key, "x-request-id": id } }));
    const mine = lines.filter((l) => l.includes(id));
    expect(mine).toHaveLength(1);
    const entry = JSON.parse(mine[0] ?? "{}") as Record<string, unknown>;
    expect(entry).toMatchObject({ msg: "request", requestId: id, method: "GET", path: "/psa/tickets", product: "psa", route: "GET /tickets", permission: "psa:tickets.read", tenant: tenantId, principalType: "key", decision: "admitted", status: 200, upstreamStatus: 200 });
    expect(entry.principalId).toMatch(/^key_/);
    expect(typeof entry.upstreamMs).toBe("number");
    expect(typeof entry.totalMs).toBe("number");
    expect(typeof entry.rateLimitRemaining).toBe("number");
    expect(mine[0]).not.toContain("not-logged");
  });

  it("logs a refusal with its code and precise reason", async () => {
    const id = rid("log");
    const lines = await captureLogs(() => call("/psa/tickets", { headers: { "x-request-id": id } }));
    const entry = JSON.parse(lines.find((l) => l.includes(id)) ?? "{}") as Record<string, unknown>;
    expect(entry).toMatchObject({ decision: "refused", status: 401, code: "UNAUTHORIZED", reason: "no credential" });
    // The reason is the precise cause of each refusal, not one text for all of them.
    const malformedId = rid("log");
    const malformed = await captureLogs(() => call("/psa/tickets", { headers: { "x-request-id": malformedId, "x-integration-key": "osk_not-a-key" } }));
    const other = JSON.parse(malformed.find((l) => l.includes(malformedId)) ?? "{}") as Record<string, unknown>;
    expect(other).toMatchObject({ status: 401, code: "UNAUTHORIZED", reason: "integration key malformed or checksum mismatch" });
  });

  it("never writes a credential to any log line", async () => {
    const session = await sessionToken(tenantId, ["psa:*"]);
    const secrets = [key, session, String(ADMIN.authorization).slice("Bearer ".length)];
    let created = "";
    const lines = await captureLogs(async () => {
      await call("/psa/tickets", { headers: { "x-integration-key": key } });
      await call("/psa/tickets", { headers: { authorization: `Bearer ${session}` } });
      await call("/psa/tickets", { headers: { cookie: `os_session=${session}` } });
      await call("/psa/tickets", { headers: { "x-integration-key": key, authorization: `Bearer ${session}` } });
      await call(`/psa/tickets?api_key=${key}`);
      await call("/psa/tickets", { headers: { "x-integration-key": `${key.slice(0, -1)}X` } });
      await call("/psa/tickets", { headers: { authorization: `Bearer ${session.slice(0, -4)}AAAA` } });
      await call("/__gateway/admin/tenants/x/keys", { headers: { authorization: "Bearer wrong-secret-value-123" } });
      created = (await createKey(tenant("log"), { psa: "read" })).key;
    });
    expect(lines.length).toBeGreaterThanOrEqual(9);
    for (const line of lines) {
      for (const secret of [...secrets, created, "wrong-secret-value-123"]) expect(line).not.toContain(secret);
    }
  });

  it("logs an unexpected exception with the request id and answers a generic 500", async () => {
    const id = rid("boom");
    const { key: fresh } = await createKey(tenant("boom"), { psa: "read" });
    // A store answering with something the gateway cannot read: a KV failure would not do (the key directory answers then).
    const unreadable = new Proxy({}, {
      get: (_, prop) => {
        if (prop === "then") return undefined; // not a promise: it is the value
        throw new Error("kv exploded at kv-7.internal");
      },
    });
    const exploding = { get: () => Promise.resolve(unreadable) };
    let res: Response | undefined;
    const lines = await captureLogs(async () => {
      res = await callWith(envWith({ KEYS: exploding }), "/psa/tickets", { headers: { "x-integration-key": fresh, "x-request-id": id } });
    });
    expect(res?.status).toBe(500);
    const text = await (res as Response).text();
    expect(JSON.parse(text)).toEqual({ error: expect.any(String), code: "INTERNAL_ERROR", details: null });
    expect(text).not.toContain("kv-7");
    const exception = lines.map((l) => JSON.parse(l) as Record<string, unknown>).find((e) => e.msg === "exception");
    expect(exception).toMatchObject({ requestId: id, error: { message: "kv exploded at kv-7.internal" } });
  });
});

describe("usage metrics", () => {
  it("writes one data point per request when the dataset is bound", async () => {
    const points: AnalyticsEngineDataPoint[] = [];
    const dataset = { writeDataPoint: (p: AnalyticsEngineDataPoint) => void points.push(p) };
    const custom = envWith({ USAGE: dataset });
    await callWith(custom, "/psa/tickets", { headers: { "x-integration-key": key } });
    await callWith(custom, "/psa/tickets", { method: "DELETE", headers: { "x-integration-key": key } });
    expect(points).toHaveLength(2);
    expect(points[0]).toMatchObject({ indexes: [tenantId], blobs: ["psa", "GET /tickets", "", "key", "admitted", "GET", ""] });
    expect(points[0]?.doubles?.[0]).toBe(200);
    expect(points[0]?.doubles?.[3]).toBe(200);
    expect(points[1]).toMatchObject({ indexes: ["-"], blobs: ["psa", "", "METHOD_NOT_ALLOWED", "", "refused", "DELETE", ""] });
  });

  it("never fails a request when the metrics write throws", async () => {
    const res = await callWith(envWith({ USAGE: { writeDataPoint: () => { throw new Error("AE down"); } } }), "/psa/tickets", { headers: { "x-integration-key": key } });
    expect(res.status).toBe(200);
  });
});

describe("health", () => {
  it("answers without auth, upstream or quota, with the build and config validity", async () => {
    const id = rid("health");
    const res = await call("/__gateway/health", { headers: { "x-request-id": id } });
    expect(res.status).toBe(200);
    expect(res.headers.get("x-request-id")).toBe(id);
    expect(res.headers.get("ratelimit")).toBeNull();
    expect(await res.json()).toMatchObject({ status: "ok", version: expect.any(String), build: null, environment: "development", config: { valid: true, products: ["psa", "rmm"] } });
    expect(await recorded("psa", id)).toHaveLength(0);
  });

  it("reports BUILD_VERSION as the build, with a valid configuration and with an invalid one", async () => {
    const ok = await callWith(envWith({ BUILD_VERSION: "3f9a1c2" }), "/__gateway/health");
    expect(ok.status).toBe(200);
    expect(await ok.json()).toMatchObject({ status: "ok", build: "3f9a1c2" });
    const broken = await callWith(envWith({ BUILD_VERSION: "3f9a1c2", MAX_JSON_BYTES: "lots" }), "/__gateway/health");
    expect(broken.status).toBe(503);
    expect(await envelope(broken)).toMatchObject({ code: "SERVICE_UNAVAILABLE", details: { build: "3f9a1c2", config: { valid: false, field: "MAX_JSON_BYTES" } } });
  });

  it("reports an invalid configuration as 503 naming the field and the reason, not its value", async () => {
    const res = await callWith(envWith({ UPSTREAM_RMM: "gopher://secret-host.internal" }), "/__gateway/health");
    expect(res.status).toBe(503);
    const text = await res.text();
    expect(JSON.parse(text)).toMatchObject({ code: "SERVICE_UNAVAILABLE", details: { config: { valid: false, field: "UPSTREAM_RMM", reason: "must be http(s) or service:BINDING" } } });
    expect(text).not.toContain("secret-host");
  });

  it.each([
    ["UPSTREAM_PSA", "http://ops:hunter2@psa.internal", "hunter2"],
    ["CORS_ORIGINS", "https://portal.example.com/secret-path", "secret-path"],
    ["JWT_ALGORITHMS", "ES256,HS256-secret-alg", "secret-alg"],
    ["RATE_LIMIT_DEFAULT", "100/1m,secret-policy", "secret-policy"],
    ["ADMIN_SECRET", "dev-admin-secret-change-me", "dev-admin"],
  ])("gives the reason for an invalid %s without quoting the value", async (name, value, part) => {
    const res = await callWith(envWith({ ENVIRONMENT: "staging", JWKS: "", ADMIN_SECRET: "an-operator-chosen-secret", [name]: value }), "/__gateway/health");
    expect(res.status).toBe(503);
    const text = await res.text();
    expect(JSON.parse(text)).toMatchObject({ details: { config: { valid: false, field: name, reason: expect.any(String) } } });
    expect(text).not.toContain(part);
  });
});

describe("CORS", () => {
  const origin = "http://localhost:5173";

  it("answers an allowed preflight at the edge without auth and never forwards it", async () => {
    const id = rid("cors");
    const res = await call("/psa/tickets", {
      method: "OPTIONS",
      headers: { origin, "access-control-request-method": "POST", "access-control-request-headers": "Content-Type, X-Integration-Key, X-Evil", "x-request-id": id },
    });
    expect(res.status).toBe(204);
    expect(res.headers.get("access-control-allow-origin")).toBe(origin);
    expect(res.headers.get("access-control-allow-credentials")).toBe("true");
    expect(res.headers.get("access-control-allow-headers")).toBe("content-type, x-integration-key");
    expect(res.headers.get("access-control-allow-methods")).toBe("GET, HEAD, POST, PUT, PATCH, DELETE");
    expect(res.headers.get("access-control-max-age")).toBe("600");
    expect(res.headers.get("x-request-id")).toBe(id);
    expect(await recorded("psa", id)).toHaveLength(0);
  });

  it("lets the browser cache a preflight for CORS_MAX_AGE_SECONDS", async () => {
    const res = await callWith(envWith({ CORS_MAX_AGE_SECONDS: "86400" }), "/psa/tickets", { method: "OPTIONS", headers: { origin, "access-control-request-method": "GET" } });
    expect(res.status).toBe(204);
    expect(res.headers.get("access-control-max-age")).toBe("86400");
  });

  it("refuses a preflight from an origin not on the list", async () => {
    const res = await call("/psa/tickets", { method: "OPTIONS", headers: { origin: "https://evil.example", "access-control-request-method": "GET" } });
    expect(res.status).toBe(403);
    expect(res.headers.get("access-control-allow-origin")).toBeNull();
    expect((await envelope(res)).code).toBe("FORBIDDEN");
  });

  it("exposes the request id and rate-limit fields to an allowed origin, never with *", async () => {
    const res = await call("/psa/tickets", { headers: { origin, "x-integration-key": key } });
    expect(res.status).toBe(200);
    expect(res.headers.get("access-control-allow-origin")).toBe(origin);
    expect(res.headers.get("access-control-expose-headers")).toContain("X-Request-Id");
    expect(res.headers.get("access-control-expose-headers")).toContain("RateLimit");
    expect(res.headers.get("vary")).toContain("Origin");
  });

  it("adds CORS headers to error envelopes too, so the browser can read them", async () => {
    const res = await call("/psa/tickets", { headers: { origin } });
    expect(res.status).toBe(401);
    expect(res.headers.get("access-control-allow-origin")).toBe(origin);
  });

  it("gives no CORS headers to another origin", async () => {
    const res = await call("/psa/tickets", { headers: { origin: "https://evil.example", "x-integration-key": key } });
    expect(res.headers.get("access-control-allow-origin")).toBeNull();
  });

  it("refuses a cross-site request that carries the session cookie from an origin not on the list", async () => {
    const id = rid("csrf");
    const session = await sessionToken(tenantId, ["psa:*"]);
    const res = await call("/psa/tickets", { method: "POST", headers: { origin: "https://evil.example", cookie: `os_session=${session}`, "content-type": "application/json", "x-request-id": id }, body: '{"title":"csrf"}' });
    expect(res.status).toBe(403);
    expect(await recorded("psa", id)).toHaveLength(0);
  });

  it("finds the session cookie in a repeated Cookie header too, as authentication does", async () => {
    const id = rid("csrf2");
    const session = await sessionToken(tenantId, ["psa:*"]);
    // Two Cookie headers reach the Worker joined with ", ".
    const res = await call("/psa/tickets", { headers: { origin: "https://evil.example", cookie: `theme=dark, os_session=${session}`, "x-request-id": id } });
    expect(res.status).toBe(403);
    expect(await envelope(res)).toMatchObject({ code: "FORBIDDEN", details: { reason: "origin_not_allowed" } });
    expect(await recorded("psa", id)).toHaveLength(0);
  });

  it("refuses a wildcard or a URL in CORS_ORIGINS as invalid configuration", async () => {
    for (const bad of ["*", "https://portal.example/path"]) {
      const res = await callWith(envWith({ CORS_ORIGINS: bad }), "/__gateway/health");
      expect(await res.json()).toMatchObject({ details: { config: { field: "CORS_ORIGINS" } } });
    }
  });
});
