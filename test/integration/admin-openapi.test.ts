/**
 * The admin API's OpenAPI document: behind admin authentication, identical to the committed
 * docs/admin-openapi.json and to a fresh generation from the schemas, listing exactly the admin routes the app registers, and describing the answers
 * the routes really give (each answer is parsed with the schema the document was generated from).
 */
import { describe, expect, it } from "vitest";
import * as v from "valibot";
import products from "../../config/products.json";
import committed from "../../docs/admin-openapi.json";
import { AuditPageSchema, CreatedKeySchema, KeyListSchema, KeyRecordSchema, LimitViewSchema, OPERATIONS } from "../../src/admin/api-spec";
import { ADMIN_BASE, buildOpenApi, openApiPath } from "../../src/admin/openapi";
import { buildApp } from "../../src/app";
import { ADMIN, call, envelope, tenant } from "../support/gateway";

const DOC = `${ADMIN_BASE}/openapi.json`;

describe("GET /__gateway/admin/openapi.json", () => {
  it("refuses a request without the admin secret with 401 UNAUTHORIZED", async () => {
    const res = await call(DOC, { headers: { "cf-connecting-ip": "198.51.100.201" } });
    expect(res.status).toBe(401);
    expect((await envelope(res)).code).toBe("UNAUTHORIZED");
  });

  it("serves an OpenAPI 3.1 document equal to the committed docs/admin-openapi.json (else: npm run openapi)", async () => {
    const res = await call(DOC, { headers: ADMIN });
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toBe("application/json; charset=utf-8");
    const doc = (await res.json()) as { openapi: string };
    expect(doc.openapi).toBe("3.1.0");
    expect(doc).toEqual(committed);
  });

  it("is what the schemas generate now, for the configured products (else: npm run openapi)", () => {
    expect(buildOpenApi(Object.keys(products))).toEqual(committed);
  });
});

describe("the document against the app's routes", () => {
  const registered = new Set(
    buildApp()
      .routes.filter((r) => r.path.startsWith(`${ADMIN_BASE}/`) && r.method !== "ALL")
      .map((r) => `${r.method.toLowerCase()} ${openApiPath(r.path.slice(ADMIN_BASE.length))}`),
  );
  const documented = OPERATIONS.map((op) => `${op.method} ${openApiPath(op.path)}`);

  it("documents every admin route the app registers", () => {
    const undocumented = [...registered].filter((r) => !documented.includes(r));
    expect(undocumented, "admin routes missing from OPERATIONS in src/admin/api-spec.ts").toEqual([]);
  });

  it("registers every documented operation", () => {
    expect(documented.filter((d) => !registered.has(d)), "operations in src/admin/api-spec.ts with no route").toEqual([]);
  });

  it("lists each path of the committed document once per operation", () => {
    const paths = (committed as { paths: Record<string, Record<string, unknown>> }).paths;
    const inDoc = Object.entries(paths).flatMap(([path, ops]) => Object.keys(ops).map((method) => `${method} ${path}`));
    expect(inDoc.sort()).toEqual(OPERATIONS.map((op) => `${op.method} ${openApiPath(op.path)}`).sort());
  });
});

describe("answers match their documented schemas", () => {
  const json = { ...ADMIN, "content-type": "application/json" };

  it("create, list and revoke a key", async () => {
    const t = tenant("openapi");
    const created = await call(`${ADMIN_BASE}/tenants/${t}/keys`, { method: "POST", headers: json, body: JSON.stringify({ name: "doc", access: { psa: "read" } }) });
    expect(created.status).toBe(201);
    const key = v.parse(CreatedKeySchema, await created.json());
    v.parse(KeyListSchema, await (await call(`${ADMIN_BASE}/tenants/${t}/keys`, { headers: ADMIN })).json());
    const revoked = await call(`${ADMIN_BASE}/tenants/${t}/keys/${key.keyId}`, { method: "DELETE", headers: ADMIN });
    expect(v.parse(KeyRecordSchema, await revoked.json()).revokedAt).not.toBeNull();
  });

  it("read, set and reset a tenant's limits", async () => {
    const t = tenant("openapi");
    const path = `${ADMIN_BASE}/tenants/${t}/rate-limit`;
    const set = await call(path, { method: "PUT", headers: json, body: JSON.stringify({ policies: [{ name: "burst", limit: 5, window: "1m" }] }) });
    expect(v.parse(LimitViewSchema, await set.json()).overridden).toBe(true);
    v.parse(LimitViewSchema, await (await call(path, { headers: ADMIN })).json());
    expect(v.parse(LimitViewSchema, await (await call(path, { method: "DELETE", headers: ADMIN })).json()).overridden).toBe(false);
    expect(v.parse(AuditPageSchema, await (await call(`${ADMIN_BASE}/tenants/${t}/audit`, { headers: ADMIN })).json()).data).toHaveLength(2);
  });
});
