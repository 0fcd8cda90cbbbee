/**
 * The admin API's OpenAPI document: behind admin authentication, identical to the committed
 * docs/admin-openapi.json and to a fresh generation from the schemas, listing exactly the admin routes the app registers, and describing the answers
 * the routes really give (each answer is parsed with the schema the document was generated from).
 */
import { Ajv2020, type ValidateFunction } from "ajv/dist/2020";
import addFormats from "ajv-formats";
import { describe, expect, it } from "vitest";
import * as v from "valibot";
import products from "../../config/products.json";
import committed from "../../docs/admin-openapi.json";
// The OpenAPI 3.1 schema the devDependency @seriousme/openapi-schema-validator checks documents with (its
// Validator reads it from disk, which workerd cannot: the same schema and ajv set-up are used here).
import openApi31 from "../../node_modules/@seriousme/openapi-schema-validator/schemas/v3.1/schema.json";
import { AuditPageSchema, CreatedKeySchema, KeyListSchema, KeyRecordSchema, LimitViewSchema, OPERATIONS } from "../../src/admin/api-spec";
import { ADMIN_BASE, buildOpenApi, openApiPath } from "../../src/admin/openapi";
import { buildApp } from "../../src/app";
import { ADMIN, call, createKey, envelope, tenant } from "../support/gateway";
import { PROBE_STRINGS, variants } from "../support/openapi-probes";

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

/**
 * Conformance, driven by the committed document alone: for every operation, an unauthenticated request, the
 * documented valid request, and variants generated from its schemas (test/support/openapi-probes.ts) on
 * both sides of each constraint. The document decides whether each variant is valid (ajv, JSON Schema
 * 2020-12 with formats); the API must agree (the documented success status, else a documented 4xx), and
 * every answer must be a documented status whose body validates against the documented schema, with the
 * headers the document requires. So the document and the API cannot drift apart in either direction.
 */
describe("conformance: every operation of docs/admin-openapi.json", () => {
  type Json = Record<string, unknown>;
  interface Op { parameters?: Array<{ name: string; in: string; schema: Json }>; requestBody?: { required: boolean; content: { "application/json": { schema: Json; example?: unknown } } }; responses: Record<string, { headers?: Record<string, { required?: boolean }>; content?: { "application/json": { schema: Json } } }> }
  const doc = committed as unknown as { paths: Record<string, Record<string, Op>>; components: { schemas: Record<string, Json> } };
  const ajv = new Ajv2020({ strict: false, allErrors: true });
  addFormats(ajv);
  const compiled = new WeakMap<Json, ValidateFunction>();
  const resolve = (s: Json): Json => (typeof s.$ref === "string" ? (doc.components.schemas[s.$ref.replace("#/components/schemas/", "")] as Json) : s);
  /** A validator for a schema of the document, its `$ref`s resolved against the document's components. */
  function validator(schema: Json): ValidateFunction {
    let fn = compiled.get(schema);
    if (fn === undefined) {
      fn = ajv.compile(JSON.parse(JSON.stringify(schema).replaceAll('"#/components/schemas/', '"components#/$defs/')) as Json);
      compiled.set(schema, fn);
    }
    return fn;
  }
  ajv.addSchema({ $id: "components", $defs: doc.components.schemas });
  const isValid = (s: Json, value: unknown) => validator(s)(value) === true;

  let address = 0;
  const operations = Object.entries(doc.paths).flatMap(([path, methods]) => Object.entries(methods).map(([method, op]) => ({ path, method, op })));

  it("is a valid OpenAPI 3.1 document", () => {
    const meta = new Ajv2020({ strict: false });
    addFormats(meta);
    meta.addFormat("media-range", true);
    const validate = meta.compile(openApi31);
    expect(validate(committed), meta.errorsText(validate.errors)).toBe(true);
  });

  it("answers a spent failure budget with the documented 429 and its Retry-After header", async () => {
    const op = doc.paths["/__gateway/admin/tenants"]?.get as Op;
    let res: Response | undefined;
    for (let i = 0; i < 12 && res?.status !== 429; i++) res = await call("/__gateway/admin/tenants", { headers: { "cf-connecting-ip": "203.0.113.251", authorization: "Bearer wrong" } });
    expect(res?.status).toBe(429);
    const documented = op.responses["429"];
    const validate = validator(documented?.content?.["application/json"].schema as Json);
    expect(validate(await res?.json()), ajv.errorsText(validate.errors)).toBe(true);
    for (const [name, header] of Object.entries(documented?.headers ?? {})) if (header.required === true) expect(res?.headers.get(name), name).toMatch(/^\d+$/);
    expect(Object.keys(documented?.headers ?? {})).toEqual(["Retry-After"]);
  });

  it.each(operations.map((o) => [`${o.method.toUpperCase()} ${o.path}`, o] as const))("%s", async (_name, { path, method, op }) => {
    const success = Object.keys(op.responses).find((s) => s.startsWith("2")) as string;
    const body = op.requestBody?.content["application/json"];
    const problems: string[] = [];
    // A valid write to a key (revoke, roll, update) changes what the next request finds: each gets a key of
    // its own. (A refused one changes nothing, or the API and the document disagree and the test says so.)
    const writesKey = path.includes("{keyId}") && method !== "get";
    let shared: { tenantId: string; keyId: string } | undefined;
    let used = false;
    async function fixture(valid: boolean) {
      if (shared !== undefined && !(writesKey && valid && used)) return shared;
      used = false;
      const tenantId = tenant("conf");
      shared = { tenantId, keyId: (await createKey(tenantId, { psa: "read" })).keyId };
      return shared;
    }

    async function send(label: string, opts: { params?: Record<string, string>; query?: Record<string, string>; body?: unknown; auth?: boolean }, expectValid: boolean) {
      const f = await fixture(expectValid && opts.auth !== false);
      if (expectValid && opts.auth !== false) used = true;
      const params: Record<string, string> = { tenantId: f.tenantId, keyId: f.keyId, ...opts.params };
      const url = path.replace(/\{(\w+)\}/g, (_m, name: string) => encodeURIComponent(params[name] as string)) + (opts.query ? `?${new URLSearchParams(opts.query)}` : "");
      const headers: Record<string, string> = { "cf-connecting-ip": `203.0.113.${(address = (address % 250) + 1)}` };
      if (opts.auth !== false) Object.assign(headers, ADMIN);
      if (opts.body !== undefined) headers["content-type"] = "application/json";
      const res = await call(url, { method: method.toUpperCase(), headers, body: opts.body === undefined ? undefined : JSON.stringify(opts.body) });
      const documented = op.responses[String(res.status)];
      const text = await res.text();
      const wanted = opts.auth === false ? "401" : expectValid ? success : "a documented 4xx";
      const agrees = opts.auth === false ? res.status === 401 : expectValid ? String(res.status) === success : res.status >= 400 && res.status < 500;
      if (!agrees || documented === undefined) {
        problems.push(`${label}: ${res.status} (wanted ${wanted}${documented === undefined ? "; status not documented" : ""}) ${text.slice(0, 200)}`);
        return;
      }
      const schema = documented.content?.["application/json"]?.schema;
      if (schema !== undefined) {
        const validate = validator(schema);
        if (!validate(JSON.parse(text))) problems.push(`${label}: ${res.status} body does not match the document: ${ajv.errorsText(validate.errors)}`);
      }
      for (const [name, header] of Object.entries(documented.headers ?? {})) {
        if (header.required === true && res.headers.get(name) === null) problems.push(`${label}: ${res.status} without the documented ${name} header`);
      }
    }

    await send("without credentials", { body: body?.example, auth: false }, false);
    if (body !== undefined) {
      expect(body.example, "a documented operation with a body shows a valid example").toBeDefined();
      expect(isValid(body.schema, body.example), `the example is valid for its schema: ${ajv.errorsText(validator(body.schema).errors)}`).toBe(true);
    }
    await send("the documented request", { body: body?.example }, true);
    if (body !== undefined) {
      await send("without a body", {}, op.requestBody?.required === false);
      for (const variant of variants(body.schema, body.example, resolve, isValid)) await send(`body ${variant.label}`, { body: variant.value }, isValid(body.schema, variant.value));
    }
    for (const param of op.parameters ?? []) {
      for (const probe of PROBE_STRINGS) {
        const valid = isValid(param.schema, probe);
        // A well-formed id of nothing is the API's to answer 404; a path segment cannot be empty.
        if (param.in === "path" && (valid || probe === "")) continue;
        await send(`${param.in} ${param.name}=${JSON.stringify(probe)}`, { body: body?.example, ...(param.in === "path" ? { params: { [param.name]: probe } } : { query: { [param.name]: probe } }) }, valid);
      }
    }
    expect(problems).toEqual([]);
  }, 120_000);
});
