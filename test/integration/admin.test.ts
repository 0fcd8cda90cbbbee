/**
 * The admin API for integration keys: its own secret (and no API at all without one), create with the
 * plaintext shown once, list without secrets, revoke, and input validation in the contract's shape.
 */
import { env } from "cloudflare:workers";
import { createExecutionContext, waitOnExecutionContext } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { isWellFormedKey } from "../../src/auth/integration-key";
import worker from "../../src/index";
import { ADMIN, call, createKey, envelope, sessionToken, tenant } from "../support/gateway";

/** The development admin secret from wrangler.toml, which the test configuration uses. */
const SECRET = env.ADMIN_SECRET ?? "";
const keysPath = (t: string) => `/__gateway/admin/tenants/${t}/keys`;

function createRequest(t: string, body: unknown, headers: Record<string, string> = ADMIN): RequestInit {
  return { method: "POST", headers: { ...headers, "content-type": "application/json" }, body: typeof body === "string" ? body : JSON.stringify(body) };
}

async function listKeys(t: string): Promise<{ text: string; data: Array<Record<string, unknown>> }> {
  const res = await call(keysPath(t), { headers: ADMIN });
  expect(res.status).toBe(200);
  const text = await res.text();
  return { text, data: (JSON.parse(text) as { data: Array<Record<string, unknown>> }).data };
}

describe("admin API: authentication", () => {
  const attempts: Array<[string, Record<string, string>]> = [
    ["no Authorization", {}],
    ["a wrong secret", { authorization: "Bearer not-the-admin-secret-at-all" }],
    ["the secret with a character missing", { authorization: `Bearer ${SECRET.slice(0, -1)}` }],
    ["the secret with a character added", { authorization: `Bearer ${SECRET}x` }],
    ["the secret as Basic credentials", { authorization: `Basic ${btoa(`admin:${SECRET}`)}` }],
    ["the secret without a scheme", { authorization: SECRET }],
    ["the secret in X-Integration-Key", { "x-integration-key": SECRET }],
  ];

  it.each(attempts)("refuses %s with 401 UNAUTHORIZED on create, list and revoke", async (_label, attempt) => {
    const t = tenant();
    // An address of its own: failed admin authentications are limited per address (admin-abuse.test.ts).
    const headers = { ...attempt, "cf-connecting-ip": `198.51.100.${attempts.findIndex(([, h]) => h === attempt) + 1}` };
    for (const [path, init] of [
      [keysPath(t), createRequest(t, { name: "k", access: { psa: "read" } }, headers)],
      [keysPath(t), { headers }],
      [`${keysPath(t)}/key_0123456789abcdef`, { method: "DELETE", headers }],
    ] as const) {
      const res = await call(path, init);
      expect(res.status).toBe(401);
      expect((await envelope(res)).code).toBe("UNAUTHORIZED");
    }
    expect((await listKeys(t)).data).toEqual([]);
  });

  it("refuses a valid user session token as an admin credential", async () => {
    const t = tenant();
    const res = await call(keysPath(t), { headers: { authorization: `Bearer ${await sessionToken(t, ["*"])}`, "cf-connecting-ip": "198.51.100.100" } });
    expect(res.status).toBe(401);
  });

  it("refuses the admin secret as a credential for product routes", async () => {
    const res = await call("/psa/tickets", { headers: ADMIN });
    expect(res.status).toBe(401);
    expect((await envelope(res)).code).toBe("UNAUTHORIZED");
  });

  it("does not exist without a configured secret: 404 for every admin request, whatever is sent", async () => {
    const noAdmin = { ...env, ADMIN_SECRET: "" };
    const t = tenant();
    const requests = [
      new Request(`https://gateway.test${keysPath(t)}`, createRequest(t, { name: "k", access: { psa: "read" } })),
      new Request(`https://gateway.test${keysPath(t)}`, { headers: ADMIN }),
      new Request(`https://gateway.test${keysPath(t)}`, { headers: { authorization: "Bearer " } }),
      new Request(`https://gateway.test${keysPath(t)}`),
      new Request(`https://gateway.test${keysPath(t)}/key_0123456789abcdef`, { method: "DELETE", headers: ADMIN }),
      new Request(`https://gateway.test/__gateway/admin/tenants/${t}/rate-limit`, { headers: ADMIN }),
    ];
    for (const request of requests) {
      const ctx = createExecutionContext();
      const res = await worker.fetch(request, noAdmin, ctx);
      await waitOnExecutionContext(ctx);
      expect(res.status).toBe(404);
      expect((await envelope(res)).code).toBe("NOT_FOUND");
    }
    expect((await listKeys(t)).data).toEqual([]);
  });
});

describe("admin API: keys", () => {
  it("creates a key and returns its plaintext once, with no-store", async () => {
    const t = tenant();
    const res = await call(keysPath(t), createRequest(t, { name: "  Billing sync  ", access: { psa: "write", rmm: "read" } }));
    expect(res.status).toBe(201);
    expect(res.headers.get("cache-control")).toBe("no-store");
    const body = (await res.json()) as Record<string, unknown>;
    expect(isWellFormedKey(body.key as string)).toBe(true);
    expect(body).toMatchObject({ tenantId: t, name: "Billing sync", access: { psa: "write", rmm: "read" }, expiresAt: null, revokedAt: null });
    expect(body.keyId).toMatch(/^key_[0-9a-f]{16}$/);
  });

  it("lists a tenant's keys without their plaintext or hash", async () => {
    const t = tenant();
    const { key, keyId } = await createKey(t, { psa: "read" });
    const { text, data } = await listKeys(t);
    expect(data.map((k) => k.keyId)).toEqual([keyId]);
    expect(Object.keys(data[0] ?? {}).sort()).toEqual(["access", "createdAt", "expiresAt", "graceUntil", "keyId", "name", "revokedAt", "rolledFrom", "rolledTo", "state", "tenantId"]);
    expect(text).not.toContain(key.slice(4));
    expect(text).not.toMatch(/[0-9a-f]{64}/);
  });

  it("lists only the tenant's own keys", async () => {
    const a = tenant();
    const b = tenant();
    const { keyId } = await createKey(a, { psa: "read" });
    await createKey(b, { psa: "read" });
    expect((await listKeys(a)).data.map((k) => k.keyId)).toEqual([keyId]);
  });

  it("revokes a key: the answer and the listing carry revokedAt, and the key stops working", async () => {
    const t = tenant();
    const { key, keyId } = await createKey(t, { psa: "read" });
    const res = await call(`${keysPath(t)}/${keyId}`, { method: "DELETE", headers: ADMIN });
    expect(res.status).toBe(200);
    const revoked = (await res.json()) as { keyId: string; revokedAt: string | null };
    expect(revoked.keyId).toBe(keyId);
    expect(Date.parse(revoked.revokedAt ?? "")).not.toBeNaN();
    expect((await listKeys(t)).data[0]?.revokedAt).toBe(revoked.revokedAt);
    expect((await call("/psa/tickets", { headers: { "x-integration-key": key } })).status).toBe(401);
  });

  it("keeps the first revocation time when a key is revoked twice", async () => {
    const t = tenant();
    const { keyId } = await createKey(t, { psa: "read" });
    const first = (await (await call(`${keysPath(t)}/${keyId}`, { method: "DELETE", headers: ADMIN })).json()) as { revokedAt: string };
    const second = await call(`${keysPath(t)}/${keyId}`, { method: "DELETE", headers: ADMIN });
    expect(second.status).toBe(200);
    expect(((await second.json()) as { revokedAt: string }).revokedAt).toBe(first.revokedAt);
  });

  it("cannot revoke another tenant's key: 404, and the key keeps working", async () => {
    const owner = tenant();
    const other = tenant();
    const { key, keyId } = await createKey(owner, { psa: "read" });
    const res = await call(`${keysPath(other)}/${keyId}`, { method: "DELETE", headers: ADMIN });
    expect(res.status).toBe(404);
    expect((await envelope(res)).code).toBe("NOT_FOUND");
    expect((await call("/psa/tickets", { headers: { "x-integration-key": key } })).status).toBe(200);
  });

  it.each(["key_0123456789abcdef", "key_nothex", "../x"])("answers 404 for revoking the unknown key id %s", async (keyId) => {
    const t = tenant();
    const res = await call(`${keysPath(t)}/${encodeURIComponent(keyId)}`, { method: "DELETE", headers: ADMIN });
    expect(res.status).toBe(404);
    expect((await envelope(res)).code).toBe("NOT_FOUND");
  });
});

describe("admin API: input validation", () => {
  const future = () => new Date(Date.now() + 86_400_000).toISOString();

  it.each([
    ["no name", { access: { psa: "read" } }, ["name"]],
    ["a blank name", { name: "   ", access: { psa: "read" } }, ["name"]],
    ["a name with a line break", { name: "a\nb", access: { psa: "read" } }, ["name"]],
    ["a 101-character name", { name: "n".repeat(101), access: { psa: "read" } }, ["name"]],
    ["no access", { name: "k" }, ["access"]],
    ["empty access", { name: "k", access: {} }, ["access"]],
    ["access as a list", { name: "k", access: ["psa"] }, ["access"]],
    ["an unknown product", { name: "k", access: { crm: "read" } }, ["access.crm"]],
    ["an unknown level", { name: "k", access: { psa: "admin" } }, ["access.psa"]],
    ["constructor as product", { name: "k", access: { constructor: "write" } }, ["access.constructor"]],
    ["toString as product", { name: "k", access: { toString: "read" } }, ["access.toString"]],
    ["a prototype key as product", { name: "k", access: JSON.parse('{"__proto__":"write"}') as unknown }, ["access.__proto__"]],
    ["an expiry in the past", { name: "k", access: { psa: "read" }, expiresAt: "2001-01-01T00:00:00Z" }, ["expiresAt"]],
    ["an expiry that is not a time", { name: "k", access: { psa: "read" }, expiresAt: "tomorrow" }, ["expiresAt"]],
    ["an expiry as a number", { name: "k", access: { psa: "read" }, expiresAt: 4_000_000_000 }, ["expiresAt"]],
    ["an expiry that is only a year", { name: "k", access: { psa: "read" }, expiresAt: "2030" }, ["expiresAt"]],
    ["an expiry that is only a date", { name: "k", access: { psa: "read" }, expiresAt: "2030-01-01" }, ["expiresAt"]],
    ["an expiry without a time zone", { name: "k", access: { psa: "read" }, expiresAt: "2030-01-01T00:00:00" }, ["expiresAt"]],
    ["an expiry without seconds", { name: "k", access: { psa: "read" }, expiresAt: "2030-01-01T00:00Z" }, ["expiresAt"]],
    ["an RFC 2822 expiry", { name: "k", access: { psa: "read" }, expiresAt: "Tue, 01 Jan 2030 00:00:00 GMT" }, ["expiresAt"]],
    ["an expiry on a day that does not exist", { name: "k", access: { psa: "read" }, expiresAt: "2030-02-30T00:00:00Z" }, ["expiresAt"]],
    ["an expiry at hour 24", { name: "k", access: { psa: "read" }, expiresAt: "2030-01-01T24:00:00Z" }, ["expiresAt"]],
    ["an expiry with a six-digit year", { name: "k", access: { psa: "read" }, expiresAt: "+020300-01-01T00:00:00Z" }, ["expiresAt"]],
    ["a name with a right-to-left override", { name: "invoice\u202Efdp.exe", access: { psa: "read" } }, ["name"]],
    ["a name with a bidi isolate", { name: "a\u2066b\u2069", access: { psa: "read" } }, ["name"]],
    ["a name with a zero-width space", { name: "ad\u200Bmin", access: { psa: "read" } }, ["name"]],
    ["a name with a zero-width joiner", { name: "a\u200Db", access: { psa: "read" } }, ["name"]],
    ["a name with a byte order mark", { name: "\uFEFFkey", access: { psa: "read" } }, ["name"]],
    ["a name with a lone surrogate", { name: "key\uD800", access: { psa: "read" } }, ["name"]],
    ["a name with a C1 control", { name: "key\u0085", access: { psa: "read" } }, ["name"]],
    ["a name with a line separator", { name: "a\u2028b", access: { psa: "read" } }, ["name"]],
    ["a name with a tab", { name: "a\tb", access: { psa: "read" } }, ["name"]],
    ["a name that is a Hangul filler", { name: "\u3164", access: { psa: "read" } }, ["name"]],
    ["a name that is a Hangul choseong filler", { name: "\u115F", access: { psa: "read" } }, ["name"]],
    ["a name that is a halfwidth Hangul filler", { name: "\uFFA0\uFFA0", access: { psa: "read" } }, ["name"]],
    ["a name with a Hangul filler inside", { name: "ad\u3164min", access: { psa: "read" } }, ["name"]],
    ["a name that is a braille blank", { name: "\u2800", access: { psa: "read" } }, ["name"]],
    ["a name that is combining marks alone", { name: "\u0301\u0308", access: { psa: "read" } }, ["name"]],
    ["a name starting with a combining mark", { name: "\u20DDkey", access: { psa: "read" } }, ["name"]],
    ["a name with a combining grapheme joiner", { name: "a\u034Fb", access: { psa: "read" } }, ["name"]],
    ["a name with a noncharacter U+FFFF", { name: "key\uFFFF", access: { psa: "read" } }, ["name"]],
    ["a name with a noncharacter U+FDD0", { name: "key\uFDD0", access: { psa: "read" } }, ["name"]],
    ["a name with a plane-end noncharacter", { name: "key\u{10FFFF}", access: { psa: "read" } }, ["name"]],
    ["a name that is an ideographic space", { name: "\u3000", access: { psa: "read" } }, ["name"]],
    ["a name with a tag character", { name: "flag\u{E0041}", access: { psa: "read" } }, ["name"]],
    ["every field wrong", { name: "", access: { psa: "root" }, expiresAt: "x" }, ["access.psa", "expiresAt", "name"]],
  ])("refuses a key with %s with VALIDATION_ERROR naming the fields", async (_label, body, fields) => {
    const t = tenant();
    const res = await call(keysPath(t), createRequest(t, body));
    expect(res.status).toBe(400);
    const env_ = await envelope(res);
    expect(env_.code).toBe("VALIDATION_ERROR");
    expect(Object.keys((env_.details?.fields ?? {}) as object).sort()).toEqual(fields);
    expect((await listKeys(t)).data).toEqual([]);
  });

  it.each([
    ["an offset", "2030-01-01T02:00:00+02:00", "2030-01-01T00:00:00.000Z"],
    ["fractional seconds and a lowercase z", "2030-01-01t00:00:00.5z", "2030-01-01T00:00:00.500Z"],
  ])("accepts an RFC 3339 expiry with %s, stored as UTC", async (_label, expiresAt, stored) => {
    const t = tenant();
    const res = await call(keysPath(t), createRequest(t, { name: "k", access: { psa: "read" }, expiresAt }));
    expect(res.status).toBe(201);
    expect(((await res.json()) as { expiresAt: string }).expiresAt).toBe(stored);
  });

  it.each([
    ["a name", '{"name":"a","name":"b","access":{"psa":"read"}}', "name"],
    ["an access level", '{"name":"k","access":{"psa":"write","psa":"read"}}', "access.psa"],
    ["a member whose name is not plain", '{"name":"k","access":{"psa":"read"},"\u202e":1,"\u202e":2}', '["\\u202e"]'],
  ])("refuses a create-key body that repeats %s with VALIDATION_ERROR naming it, and creates nothing", async (_label, text, field) => {
    const t = tenant();
    const res = await call(keysPath(t), createRequest(t, text));
    expect(res.status).toBe(400);
    const body = await envelope(res);
    expect(body.code).toBe("VALIDATION_ERROR");
    expect(Object.keys((body.details?.fields ?? {}) as object)).toEqual([field]);
    expect((await listKeys(t)).data).toEqual([]);
  });

  it("names a product key that is not plain escaped and cut to 64 characters, never as sent", async () => {
    const t = tenant();
    const res = await call(keysPath(t), createRequest(t, { name: "k", access: { "ad\u202Emin\n": "read", ["x".repeat(5000)]: "read" } }));
    expect(res.status).toBe(400);
    const fields = Object.keys(((await envelope(res)).details?.fields ?? {}) as object);
    expect(fields).toEqual(['access["ad\\u202emin\\u000a"]', `access["${"x".repeat(64)}..."]`]);
  });

  it("shows a malformed key id in a 404 escaped and cut to 64 characters", async () => {
    const res = await call(`/__gateway/admin/tenants/${tenant()}/keys/${encodeURIComponent("key_\u202Eevil\n" + "y".repeat(100))}`, { method: "DELETE", headers: ADMIN });
    expect(res.status).toBe(404);
    expect((await envelope(res)).details).toEqual({ resourceType: "integrationKey", resourceId: `key_\\u202eevil\\u000a${"y".repeat(54)}...` });
  });

  it("refuses policies that repeat a member at any depth with VALIDATION_ERROR naming it", async () => {
    const t = tenant();
    const res = await call(`/__gateway/admin/tenants/${t}/rate-limit`, { method: "PUT", headers: { ...ADMIN, "content-type": "application/json" }, body: '{"policies":[{"name":"a","limit":1,"window":"1m"},{"name":"b","limit":5,"limit":500,"window":"1m"}]}' });
    expect(res.status).toBe(400);
    expect(Object.keys(((await envelope(res)).details?.fields ?? {}) as object)).toEqual(["policies[1].limit"]);
  });

  it("accepts a name in any script, with emoji", async () => {
    const t = tenant();
    const res = await call(keysPath(t), createRequest(t, { name: "Zapier — 請求 🚀 ❤️ café 한국", access: { psa: "read" } }));
    expect(res.status).toBe(201);
    expect(((await res.json()) as { name: string }).name).toBe("Zapier — 請求 🚀 ❤️ café 한국");
  });

  it("accepts a key with a future expiry", async () => {
    const t = tenant();
    const expiresAt = future();
    const res = await call(keysPath(t), createRequest(t, { name: "k", access: { psa: "read" }, expiresAt }));
    expect(res.status).toBe(201);
    expect(((await res.json()) as { expiresAt: string }).expiresAt).toBe(expiresAt);
  });

  it.each([
    ["a tenant id with a colon", "a:b"],
    ["a tenant id with a dot", "a.b"],
    ["a 65-character tenant id", "t".repeat(65)],
    ["a tenant id starting with -", "-t"],
  ])("refuses %s with VALIDATION_ERROR on tenantId", async (_label, t) => {
    const res = await call(keysPath(encodeURIComponent(t)), createRequest(t, { name: "k", access: { psa: "read" } }));
    expect(res.status).toBe(400);
    const body = await envelope(res);
    expect(body.code).toBe("VALIDATION_ERROR");
    expect(Object.keys((body.details?.fields ?? {}) as object)).toEqual(["tenantId"]);
  });

  it("refuses a body that is not JSON with INVALID_JSON", async () => {
    const t = tenant();
    const res = await call(keysPath(t), createRequest(t, "{name:"));
    expect(res.status).toBe(400);
    expect((await envelope(res)).code).toBe("INVALID_JSON");
  });

  it("refuses a JSON body that is not an object with VALIDATION_ERROR on body", async () => {
    const t = tenant();
    const res = await call(keysPath(t), createRequest(t, "[]"));
    expect(res.status).toBe(400);
    const body = await envelope(res);
    expect(body.code).toBe("VALIDATION_ERROR");
    expect(Object.keys((body.details?.fields ?? {}) as object)).toEqual(["body"]);
  });

  it("refuses a body that is not declared as JSON with VALIDATION_ERROR on Content-Type", async () => {
    const t = tenant();
    const res = await call(keysPath(t), { method: "POST", headers: { ...ADMIN, "content-type": "text/plain" }, body: JSON.stringify({ name: "k", access: { psa: "read" } }) });
    expect(res.status).toBe(400);
    const body = await envelope(res);
    expect(body.code).toBe("VALIDATION_ERROR");
    expect(Object.keys((body.details?.fields ?? {}) as object)).toEqual(["Content-Type"]);
  });
});
