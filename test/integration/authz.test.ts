/**
 * Authorization through the whole pipeline: product access and Read Only keys, user permissions with
 * wildcards, method override, and path spellings that try to slip past the permission check. Every
 * refusal is checked at the product too: nothing was forwarded.
 */
import { describe, expect, it } from "vitest";
import { call, createKey, envelope, recorded, rid, sessionToken, tenant } from "../support/gateway";

type Product = "psa" | "rmm";

/**
 * Sends one request with a fresh id; returns status, envelope (on failure) and what `product` received.
 * `anywhere` is what either product received, for the requests that try to reach the other one.
 */
async function send(product: Product, method: string, path: string, headers: Record<string, string>) {
  const id = rid("authz");
  const hasBody = method === "POST" || method === "PATCH" || method === "PUT";
  const res = await call(path, {
    method,
    headers: { ...headers, "x-request-id": id, ...(hasBody ? { "content-type": "application/json" } : {}) },
    ...(hasBody ? { body: JSON.stringify({ title: "Disk full", priority: "high", hostname: "srv-1", script: "df -h" }) } : {}),
  });
  const body = res.status >= 400 ? await envelope(res) : null;
  const [psa, rmm] = await Promise.all([recorded("psa", id), recorded("rmm", id)]);
  return { status: res.status, code: body?.code ?? null, details: body?.details ?? null, forwarded: product === "psa" ? psa : rmm, anywhere: [...psa, ...rmm] };
}

const bearer = (token: string) => ({ authorization: `Bearer ${token}` });

describe("integration keys", () => {
  it("refuses a key without the product with PRODUCT_ACCESS_DENIED naming the product", async () => {
    const { key } = await createKey(tenant(), { rmm: "write" });
    const result = await send("psa", "GET", "/psa/tickets", { "x-integration-key": key });
    expect(result.status).toBe(403);
    expect(result.code).toBe("PRODUCT_ACCESS_DENIED");
    expect(result.details?.requiredProduct).toBe("psa");
    expect(result.forwarded).toEqual([]);
  });

  it("lets a read-only key read", async () => {
    const { key } = await createKey(tenant(), { psa: "read" });
    const result = await send("psa", "GET", "/psa/tickets", { "x-integration-key": key });
    expect(result.status).toBe(200);
    expect(result.forwarded).toHaveLength(1);
  });

  it.each([
    ["psa", "POST", "/psa/tickets", "tickets.write"],
    ["psa", "PATCH", "/psa/tickets/tkt_1", "tickets.write"],
    ["psa", "PUT", "/psa/tickets/tkt_1", "tickets.write"],
    ["psa", "DELETE", "/psa/tickets/tkt_1", "tickets.write"],
    ["rmm", "POST", "/rmm/devices/dev_1/scripts", "scripts.execute"],
  ] as const)("refuses a read-only key on %s %s %s with FORBIDDEN and the required permission", async (product, method, path, permission) => {
    const { key } = await createKey(tenant(), { [product]: "read" });
    const result = await send(product, method, path, { "x-integration-key": key });
    expect(result.status).toBe(403);
    expect(result.code).toBe("FORBIDDEN");
    expect(result.details).toMatchObject({ requiredProduct: product, requiredPermission: permission });
    expect(result.forwarded).toEqual([]);
  });

  it("lets a read/write key write", async () => {
    const { key } = await createKey(tenant(), { psa: "write" });
    const result = await send("psa", "POST", "/psa/tickets", { "x-integration-key": key });
    expect(result.status).toBe(201);
    expect(result.forwarded[0]?.method).toBe("POST");
  });

  it("keeps a key's access per product: write on one does not grant the other", async () => {
    const { key } = await createKey(tenant(), { psa: "write", rmm: "read" });
    expect((await send("psa", "POST", "/psa/tickets", { "x-integration-key": key })).status).toBe(201);
    const result = await send("rmm", "POST", "/rmm/devices", { "x-integration-key": key });
    expect(result).toMatchObject({ status: 403, code: "FORBIDDEN", details: { requiredProduct: "rmm", requiredPermission: "devices.write" } });
    expect(result.forwarded).toEqual([]);
  });
});

describe("user permissions", () => {
  it.each([
    [["psa:tickets.write"], "POST", "/psa/tickets"],
    [["psa:tickets.*"], "POST", "/psa/tickets"],
    [["psa:tickets.*"], "GET", "/psa/tickets"],
    [["psa:*"], "DELETE", "/psa/tickets/tkt_1"],
    [["*"], "POST", "/psa/tickets"],
    [["rmm:devices.read", "psa:tickets.write"], "POST", "/psa/tickets"],
  ])("lets perms %j call %s %s", async (perms, method, path) => {
    const result = await send("psa", method, path, bearer(await sessionToken(tenant(), perms)));
    expect(result.status).not.toBe(401);
    expect(result.status).not.toBe(403);
    expect(result.forwarded).toHaveLength(1);
  });

  it.each([
    [[], "GET", "/psa/tickets", "tickets.read"],
    [["psa:tickets.read"], "POST", "/psa/tickets", "tickets.write"],
    [["psa:tickets.read"], "DELETE", "/psa/tickets/tkt_1", "tickets.write"],
    [["rmm:*"], "GET", "/psa/tickets", "tickets.read"],
    [["psa:devices.*"], "GET", "/psa/tickets", "tickets.read"],
    [["psa:ticket*"], "GET", "/psa/tickets", "tickets.read"],
    [["PSA:*"], "GET", "/psa/tickets", "tickets.read"],
    [["psa:tickets.write:anything"], "POST", "/psa/tickets", "tickets.write"],
  ])("refuses perms %j on %s %s with FORBIDDEN and the required permission", async (perms, method, path, permission) => {
    const result = await send("psa", method, path, bearer(await sessionToken(tenant(), perms)));
    expect(result.status).toBe(403);
    expect(result.code).toBe("FORBIDDEN");
    expect(result.details).toEqual({ requiredProduct: "psa", requiredPermission: permission });
    expect(result.forwarded).toEqual([]);
  });

  it("refuses psa:* on the other product", async () => {
    const result = await send("rmm", "POST", "/rmm/devices/dev_1/scripts", bearer(await sessionToken(tenant(), ["psa:*"])));
    expect(result).toMatchObject({ status: 403, code: "FORBIDDEN", details: { requiredProduct: "rmm", requiredPermission: "scripts.execute" } });
    expect(result.forwarded).toEqual([]);
  });
});

describe("method override", () => {
  it.each(["X-HTTP-Method-Override", "X-Method-Override", "X-HTTP-Method"])(
    "refuses %s with VALIDATION_ERROR naming it, for a read-only key that could not write anyway",
    async (header) => {
      const { key } = await createKey(tenant(), { psa: "read" });
      const result = await send("psa", "GET", "/psa/tickets", { "x-integration-key": key, [header]: "DELETE" });
      expect(result.status).toBe(400);
      expect(result.code).toBe("VALIDATION_ERROR");
      expect(Object.keys((result.details?.fields ?? {}) as object)).toEqual([header.toLowerCase()]);
      expect(result.forwarded).toEqual([]);
    },
  );

  it("refuses ?_method= with VALIDATION_ERROR naming it", async () => {
    const { key } = await createKey(tenant(), { psa: "write" });
    const result = await send("psa", "POST", "/psa/tickets?_method=DELETE", { "x-integration-key": key });
    expect(result.status).toBe(400);
    expect(result.code).toBe("VALIDATION_ERROR");
    expect(Object.keys((result.details?.fields ?? {}) as object)).toEqual(["_method"]);
    expect(result.forwarded).toEqual([]);
  });

  it("refuses an override even when the caller may perform the overriding method", async () => {
    const { key } = await createKey(tenant(), { psa: "write" });
    const result = await send("psa", "GET", "/psa/tickets", { "x-integration-key": key, "x-http-method-override": "GET" });
    expect(result.status).toBe(400);
    expect(result.forwarded).toEqual([]);
  });

  it("refuses an override before authenticating anyone", async () => {
    const result = await send("psa", "GET", "/psa/tickets", { "x-http-method-override": "POST" });
    expect(result).toMatchObject({ status: 400, code: "VALIDATION_ERROR" });
  });
});

describe("path tricks against the permission check", () => {
  it.each([
    ["/psa/tickets/%2e%2e/x", [400, 404]],
    ["/psa/tickets/x/%2e%2e", [400, 404]],
    ["/psa//tickets", [400]],
    ["/psa/tickets//", [400]],
    ["/PSA/tickets", [404]],
    ["/psa/Tickets", [404]],
    ["/psa/TICKETS", [404]],
    ["/psa/tickets%2f1", [400]],
    ["/psa/tickets%2F1", [400]],
    ["/psa/tickets%5c1", [400]],
    ["/psa/%74ickets", [404]],
    ["/psa/tickets%252f1", [400]],
    ["/psa/tickets/%00", [400]],
    ["/psa/portal%2ftickets", [400]],
    ["/psa/tickets;/x", [404]],
    ["/psa%2ftickets", [400]],
  ] as const)("refuses %s before authentication, and forwards nothing even with a key that could call it", async (path, statuses) => {
    const { key } = await createKey(tenant(), { psa: "write", rmm: "write" });
    const attempts: Array<Record<string, string>> = [{}, { "x-integration-key": key }];
    for (const headers of attempts) {
      const result = await send("psa", "GET", path, headers);
      expect(statuses).toContain(result.status);
      expect(result.code).toBe(result.status === 400 ? "VALIDATION_ERROR" : "NOT_FOUND");
      expect(result.anywhere).toEqual([]);
    }
  });

  it.each([
    ["POST", "/psa/tickets/..;/attachments"],
    ["POST", "/psa/tickets/%2e%2e;/attachments"],
    ["GET", "/psa/tickets/tkt_1;jsessionid=abc"],
    ["GET", "/psa/tickets/tkt_1%3B"],
    ["GET", "/psa/tickets/tkt_1%3b"],
    ["GET", "/psa/tickets/tkt_1%253B"],
  ] as const)("refuses %s %s, a path parameter a Tomcat/Spring product would strip, with 400 on path and forwards nothing", async (method, path) => {
    const { key } = await createKey(tenant(), { psa: "write" });
    const result = await send("psa", method, path, { "x-integration-key": key });
    expect(result).toMatchObject({ status: 400, code: "VALIDATION_ERROR", details: { fields: { path: expect.any(String) } } });
    expect(result.anywhere).toEqual([]);
  });

  it("authorizes an encoded-dot path as the path it resolves to, which is also the path forwarded", async () => {
    // The runtime's URL parser resolves %2E%2E segments: this is a request for /rmm/devices, and a
    // PSA-only key is refused for RMM rather than let through on the /psa prefix it was written with.
    const { key } = await createKey(tenant(), { psa: "write" });
    const result = await send("rmm", "GET", "/psa/tickets/%2E%2E/%2E%2E/rmm/devices", { "x-integration-key": key });
    expect(result).toMatchObject({ status: 403, code: "PRODUCT_ACCESS_DENIED", details: { requiredProduct: "rmm" } });
    expect(result.anywhere).toEqual([]);
  });
});
