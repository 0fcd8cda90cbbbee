/**
 * The tenant index (src/admin/tenant-index.ts): the tenants the gateway knows, listed with their key counts,
 * policies and last change; one tenant read; 404 for the limits of a tenant it does not know; a tenant the
 * authorities know but the index does not (usage only) adopted on read. And a key's name and expiry changed
 * without a roll (PATCH, src/admin/key-update.ts).
 */
import { describe, expect, it } from "vitest";
import { ADMIN, call, createKey, envelope, sessionToken, tenant } from "../support/gateway";

const BASE = "/__gateway/admin";
const json = { ...ADMIN, "content-type": "application/json" };
const get = async (path: string) => call(`${BASE}${path}`, { headers: ADMIN });
const setLimits = (t: string, policies: unknown) => call(`${BASE}/tenants/${t}/rate-limit`, { method: "PUT", headers: json, body: JSON.stringify({ policies }) });
const patch = (t: string, keyId: string, body: unknown) => call(`${BASE}/tenants/${t}/keys/${keyId}`, { method: "PATCH", headers: json, body: JSON.stringify(body) });

interface Tenant {
  tenantId: string;
  keys: number;
  usableKeys: number;
  overridden: boolean;
  keysWithPolicies: number;
  lastChangeAt: string | null;
}

describe("GET /__gateway/admin/tenants", () => {
  it("lists tenants with keys or policies, with counts and last change, in id order, a page at a time", async () => {
    const prefix = tenant("ti");
    const [a, b, c] = [`${prefix}-a`, `${prefix}-b`, `${prefix}-c`];
    const first = await createKey(a, { psa: "read" });
    await createKey(a, { psa: "write" });
    expect((await call(`${BASE}/tenants/${a}/keys/${first.keyId}`, { method: "DELETE", headers: ADMIN })).status).toBe(200);
    expect((await setLimits(b, [{ name: "burst", limit: 5, window: "1m" }])).status).toBe(200);
    const keyOfC = await createKey(c, { rmm: "read" });
    expect((await call(`${BASE}/tenants/${c}/keys/${keyOfC.keyId}/rate-limit`, { method: "PUT", headers: json, body: JSON.stringify({ policies: [{ name: "k", limit: 3, window: "1m" }] }) })).status).toBe(200);
    // A refused change indexes nothing.
    expect((await setLimits(`${prefix}-bad`, [{ name: "burst", limit: 0, window: "1m" }])).status).toBe(400);

    const res = await get(`/tenants?cursor=${prefix}-&limit=100`);
    expect(res.status).toBe(200);
    const page = (await res.json()) as { data: Tenant[] };
    const mine = page.data.filter((t) => t.tenantId.startsWith(prefix));
    expect(mine.map(({ lastChangeAt: _at, ...t }) => t)).toEqual([
      { tenantId: a, keys: 2, usableKeys: 1, overridden: false, keysWithPolicies: 0 },
      { tenantId: b, keys: 0, usableKeys: 0, overridden: true, keysWithPolicies: 0 },
      { tenantId: c, keys: 1, usableKeys: 1, overridden: false, keysWithPolicies: 1 },
    ]);
    for (const t of mine) expect(Date.parse(t.lastChangeAt as string)).toBeGreaterThan(Date.now() - 60_000);

    const one = (await (await get(`/tenants?cursor=${prefix}-&limit=1`)).json()) as { data: Tenant[]; nextCursor: string };
    expect(one.data.map((t) => t.tenantId)).toEqual([a]);
    expect(one.nextCursor).toBe(a);
    const next = (await (await get(`/tenants?cursor=${one.nextCursor}&limit=1`)).json()) as { data: Tenant[] };
    expect(next.data.map((t) => t.tenantId)).toEqual([b]);
  });

  it.each([["limit=0"], ["limit=101"], ["limit=x"], ["cursor=a:b"]])("refuses ?%s with VALIDATION_ERROR", async (query) => {
    const res = await get(`/tenants?${query}`);
    expect(res.status).toBe(400);
    expect((await envelope(res)).details).toMatchObject({ fields: { [query.split("=")[0] as string]: expect.stringMatching(/^Must/) } });
  });
});

describe("one tenant, and the limits of a tenant the gateway does not know", () => {
  it("answers 404 NOT_FOUND (resourceType tenant) for an unknown tenant's record and limit view; a key's view is the key's 404", async () => {
    const t = tenant("ti-unknown");
    for (const path of [`/tenants/${t}`, `/tenants/${t}/rate-limit`]) {
      const res = await get(path);
      expect(res.status, path).toBe(404);
      expect((await envelope(res)).details).toEqual({ resourceType: "tenant", resourceId: t });
    }
    const key = await get(`/tenants/${t}/keys/key_0123456789abcdef/rate-limit`);
    expect(key.status).toBe(404);
    expect((await envelope(key)).details).toEqual({ resourceType: "integrationKey", resourceId: "key_0123456789abcdef" });
  });

  it("reads a tenant once a change made it known, with its counts", async () => {
    const t = tenant("ti-known");
    expect((await setLimits(t, [{ name: "burst", limit: 5, window: "1m" }])).status).toBe(200);
    expect((await get(`/tenants/${t}/rate-limit`)).status).toBe(200);
    const res = await get(`/tenants/${t}`);
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ tenantId: t, keys: 0, usableKeys: 0, overridden: true, keysWithPolicies: 0, lastChangeAt: expect.any(String) });
  });

  it("knows a tenant that only has usage (session tokens), adopting it with no last change", async () => {
    const t = tenant("ti-usage");
    const token = await sessionToken(t, ["psa:tickets.read"]);
    expect((await call("/psa/tickets", { headers: { authorization: `Bearer ${token}` } })).status).toBe(200);
    expect((await get(`/tenants/${t}/rate-limit`)).status).toBe(200);
    expect(await (await get(`/tenants/${t}`)).json()).toMatchObject({ tenantId: t, keys: 0, overridden: false, lastChangeAt: null });
  });
});

describe("PATCH /__gateway/admin/tenants/:tenantId/keys/:keyId", () => {
  it("renames a key and removes its expiry without a roll: same id, same secret, audited with before and after", async () => {
    const t = tenant("ti-patch");
    const created = await createKey(t, { psa: "read" }, { expiresAt: "2031-01-01T00:00:00Z" });
    const res = await patch(t, created.keyId, { name: "renamed", expiresAt: null });
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ keyId: created.keyId, name: "renamed", expiresAt: null, state: "active", propagation: { directory: "written", kv: "written" } });
    const listed = (await (await get(`/tenants/${t}/keys`)).json()) as { data: Array<{ keyId: string; name: string; expiresAt: string | null }> };
    expect(listed.data).toEqual([expect.objectContaining({ keyId: created.keyId, name: "renamed", expiresAt: null })]);
    expect((await call("/psa/tickets", { headers: { "x-integration-key": created.key } })).status).toBe(200);
    const trail = (await (await get(`/tenants/${t}/audit`)).json()) as { data: Array<{ action: string; keyId: string; before: unknown; after: unknown }> };
    expect(trail.data[0]).toMatchObject({ action: "key.updated", keyId: created.keyId, before: { name: "test key", expiresAt: "2031-01-01T00:00:00.000Z" }, after: { name: "renamed", expiresAt: null } });
  });

  it("records nothing for an update that changes nothing", async () => {
    const t = tenant("ti-patch");
    const created = await createKey(t, { psa: "read" });
    expect((await patch(t, created.keyId, { name: "test key" })).status).toBe(200);
    const trail = (await (await get(`/tenants/${t}/audit`)).json()) as { data: Array<{ action: string }> };
    expect(trail.data.map((e) => e.action)).toEqual(["key.created"]);
  });

  it("sets an expiry in the future, normalised to UTC", async () => {
    const t = tenant("ti-patch");
    const created = await createKey(t, { psa: "read" });
    const res = await patch(t, created.keyId, { expiresAt: "2032-06-01T02:00:00+02:00" });
    expect(await res.json()).toMatchObject({ name: "test key", expiresAt: "2032-06-01T00:00:00.000Z" });
  });

  it.each([
    [{}, "body"],
    [{ nmae: "typo" }, "nmae"],
    [{ name: "" }, "name"],
    [{ expiresAt: "2001-01-01T00:00:00Z" }, "expiresAt"],
    [{ expiresAt: "tomorrow" }, "expiresAt"],
    [{ access: { psa: "write" } }, "access"],
  ])("refuses %j with VALIDATION_ERROR naming %s, and changes nothing", async (body, field) => {
    const t = tenant("ti-patch");
    const created = await createKey(t, { psa: "read" });
    const res = await patch(t, created.keyId, body);
    expect(res.status).toBe(400);
    expect(Object.keys(((await envelope(res)).details as { fields: Record<string, string> }).fields)).toEqual([field]);
    const listed = (await (await get(`/tenants/${t}/keys`)).json()) as { data: Array<{ name: string; access: unknown }> };
    expect(listed.data[0]).toMatchObject({ name: "test key", access: { psa: "read" } });
  });

  it("answers 404 for an unknown key and 409 CONFLICT for a revoked one", async () => {
    const t = tenant("ti-patch");
    expect((await patch(t, "key_0123456789abcdef", { name: "x" })).status).toBe(404);
    const created = await createKey(t, { psa: "read" });
    await call(`${BASE}/tenants/${t}/keys/${created.keyId}`, { method: "DELETE", headers: ADMIN });
    const res = await patch(t, created.keyId, { name: "x" });
    expect(res.status).toBe(409);
    expect((await envelope(res)).details).toMatchObject({ state: "revoked" });
  });
});

describe("unknown fields in admin bodies", () => {
  it.each([
    ["PUT …/rate-limit", "rate-limit", "PUT", { policies: [{ name: "burst", limit: 5, window: "1m", mdoe: "shadow" }] }, "policies[0].mdoe", "Unknown field; one of name, limit, window, mode"],
    ["POST …/keys", "keys", "POST", { name: "k", access: { psa: "read" }, expiresAT: "2031-01-01T00:00:00Z" }, "expiresAT", "Unknown field; one of name, access, expiresAt"],
  ])("%s refuses a misspelt field by name, and changes nothing", async (_label, resource, method, body, field, message) => {
    const t = tenant("ti-unknown-field");
    const res = await call(`${BASE}/tenants/${t}/${resource}`, { method, headers: json, body: JSON.stringify(body) });
    expect(res.status).toBe(400);
    expect((await envelope(res)).details).toEqual({ fields: { [field]: message } });
    expect((await get(`/tenants/${t}`)).status).toBe(404);
  });
});
