/**
 * The admin API's one description: each operation's method, path, parameters, body and answers, as the
 * valibot schemas requests are validated with (src/admin/schemas.ts) and the shapes responses have. The
 * OpenAPI document (src/admin/openapi.ts) is generated from this list, and a test checks it against the
 * routes the app registers, so the document cannot drift from the code.
 *
 */
import * as v from "valibot";
import { keyUpdateBody } from "./key-update";
import { TenantListQuerySchema } from "./tenant-routes";
import { TenantsFileSchema } from "./tenants-file";
import { AuditQuerySchema, KeyIdSchema, newKeyBody, PoliciesBody, RollBody, TenantIdSchema, WindowSchema } from "./schemas";

const Timestamp = v.pipe(v.string(), v.isoTimestamp());

/** The error envelope (shared/spec/errors.md). */
export const EnvelopeSchema = v.object({ error: v.string(), code: v.string(), details: v.nullable(v.record(v.string(), v.unknown())) });

/** A key as listed and as revoked: never the plaintext, never its hash. */
export const KeyRecordSchema = v.object({
  keyId: KeyIdSchema,
  tenantId: TenantIdSchema,
  name: v.string(),
  access: v.record(v.string(), v.picklist(["read", "write"])),
  createdAt: Timestamp,
  expiresAt: v.nullable(Timestamp),
  revokedAt: v.nullable(Timestamp),
  state: v.picklist(["active", "rolling", "revoked", "expired"]),
  rolledTo: v.nullable(KeyIdSchema),
  rolledFrom: v.nullable(KeyIdSchema),
  graceUntil: v.nullable(Timestamp),
});

/** Which writes reached which store: the directory (the authority) first, then the limiter and KV. */
const PropagationSchema = v.object({ directory: v.literal("written"), kv: v.optional(v.picklist(["written", "failed"])), limiter: v.optional(v.picklist(["written", "failed"])) });

/** The create answer: the record plus the plaintext key, shown this once. */
export const CreatedKeySchema = v.object({ ...KeyRecordSchema.entries, key: v.string(), propagation: PropagationSchema });
/** The roll answer: the new key (plaintext this once) and the old key's new state. */
const RolledKeySchema = v.object({ ...CreatedKeySchema.entries, previous: KeyRecordSchema });
/** The revoke answer. */
const RevokedKeySchema = v.object({ ...KeyRecordSchema.entries, propagation: PropagationSchema });
export const KeyListSchema = v.object({ data: v.array(KeyRecordSchema) });

const PolicyView = v.object({ name: v.string(), limit: v.number(), window: WindowSchema, mode: v.optional(v.picklist(["enforce", "shadow"])) });
const UsageView = v.object({ name: v.string(), used: v.number(), remaining: v.number(), resetSeconds: v.number() });

/** A tenant's or a key's effective policies and current usage (permits leased to isolates count as used). */
export const LimitViewSchema = v.object({
  tenantId: TenantIdSchema,
  keyId: v.optional(KeyIdSchema),
  overridden: v.boolean(),
  policies: v.array(PolicyView),
  usage: v.array(UsageView),
  keysWithPolicies: v.optional(v.array(KeyIdSchema)),
});

/** One audit entry: who, when, what, on which key, before and after (never a plaintext key). */
const AuditEntrySchema = v.object({
  id: v.number(),
  at: Timestamp,
  actor: v.string(),
  action: v.picklist(["key.created", "key.revoked", "key.rolled", "key.updated", "rate-limit.set", "rate-limit.reset", "key-rate-limit.set", "key-rate-limit.reset"]),
  keyId: v.nullable(KeyIdSchema),
  before: v.unknown(),
  after: v.unknown(),
  requestId: v.string(),
});
/** What retention keeps (by count and age) and how many entries it has dropped from this trail. */
const RetentionSchema = v.object({ maxEntries: v.number(), maxAgeDays: v.number(), evicted: v.number(), oldestKeptAt: v.nullable(Timestamp) });
export const AuditPageSchema = v.object({ tenantId: TenantIdSchema, data: v.array(AuditEntrySchema), nextCursor: v.nullable(v.string()), retention: RetentionSchema });

/** A tenant the gateway knows: its keys (all, and those usable now), its policies, its last admin change. */
export const TenantSchema = v.object({
  tenantId: TenantIdSchema,
  keys: v.number(),
  usableKeys: v.number(),
  overridden: v.boolean(),
  keysWithPolicies: v.number(),
  lastChangeAt: v.nullable(Timestamp),
});
export const TenantPageSchema = v.object({ data: v.array(TenantSchema), nextCursor: v.nullable(TenantIdSchema) });

const PolicyEntry = v.object({ name: v.string(), limit: v.number(), window: WindowSchema, mode: v.optional(v.picklist(["enforce", "shadow"])) });
/** The validated tenants file: its entries in file order (a tenant's, or one key's), policies null for the default. */
export const TenantsFileEntriesSchema = v.object({
  environment: v.string(),
  entries: v.array(v.object({ tenantId: TenantIdSchema, keyId: v.optional(KeyIdSchema), policies: v.nullable(v.array(PolicyEntry)) })),
});

export type Method = "get" | "post" | "put" | "patch" | "delete";

export interface Operation {
  method: Method;
  /** Hono's form (`:tenantId`), relative to `/__gateway/admin`. */
  path: string;
  operationId: string;
  summary: string;
  /** The JSON body; a function of the configured products where the schema names them. */
  body?: v.GenericSchema | ((products: readonly string[]) => v.GenericSchema);
  /** The body may be left out (no Content-Type, no bytes). */
  bodyOptional?: true;
  /** A valid body, shown in the document (the conformance test sends it, and checks it against the schema). */
  example?: unknown;
  /** Query parameters, as an object schema of optional strings. */
  query?: v.ObjectSchema<v.ObjectEntries, undefined>;
  /** The success status and its body schema (undefined: a document that is not described by a schema). */
  ok: { status: number; schema?: v.GenericSchema; description: string };
  /** Refusals beyond the ones every admin operation has (401, 429). 404 on a key path: the key id is malformed or unknown. */
  errors: number[];
}

const tenantKeys = "/tenants/:tenantId/keys";
const tenantLimit = "/tenants/:tenantId/rate-limit";
const keyLimit = "/tenants/:tenantId/keys/:keyId/rate-limit";

/** Every admin operation. */
export const OPERATIONS: readonly Operation[] = [
  { method: "get", path: "/openapi.json", operationId: "getOpenApi", summary: "This document", ok: { status: 200, description: "The OpenAPI 3.1 document" }, errors: [] },
  { method: "get", path: "/tenants", operationId: "listTenants", summary: "The tenants the gateway knows (keys, policies of their own or an admin change), in tenant id order", query: TenantListQuerySchema, ok: { status: 200, schema: TenantPageSchema, description: "One page; pass nextCursor as cursor for the next" }, errors: [400, 503] },
  { method: "get", path: "/tenants/:tenantId", operationId: "getTenant", summary: "One tenant's key counts, policies and last change", ok: { status: 200, schema: TenantSchema, description: "The tenant" }, errors: [400, 404, 503] },
  { method: "post", path: tenantKeys, operationId: "createKey", summary: "Create an integration key (the plaintext is in this answer only)", body: (products) => newKeyBody(products, 0, () => true, () => null), example: { name: "Zapier", access: { psa: "write" }, expiresAt: "2030-01-31T00:00:00Z" }, ok: { status: 201, schema: CreatedKeySchema, description: "The key and its record" }, errors: [400, 413, 503] },
  { method: "get", path: tenantKeys, operationId: "listKeys", summary: "List a tenant's keys (never secrets)", ok: { status: 200, schema: KeyListSchema, description: "The tenant's keys" }, errors: [400, 503] },
  { method: "delete", path: `${tenantKeys}/:keyId`, operationId: "revokeKey", summary: "Revoke a key", ok: { status: 200, schema: RevokedKeySchema, description: "The revoked record" }, errors: [400, 404, 503] },
  { method: "patch", path: `${tenantKeys}/:keyId`, operationId: "updateKey", summary: "Change a key's name or expiry (no roll: the secret and id stay)", body: keyUpdateBody(0), example: { name: "Zapier (sales)", expiresAt: "2031-01-31T00:00:00Z" }, ok: { status: 200, schema: RevokedKeySchema, description: "The key's new record" }, errors: [400, 404, 409, 413, 503] },
  { method: "post", path: `${tenantKeys}/:keyId/roll`, operationId: "rollKey", summary: "Replace a key with a new one; the old one works for gracePeriod", body: RollBody, bodyOptional: true, example: { gracePeriod: "1h" }, ok: { status: 201, schema: RolledKeySchema, description: "The new key and its record, and the old key's" }, errors: [400, 404, 409, 413, 503] },
  { method: "get", path: tenantLimit, operationId: "getTenantRateLimit", summary: "A tenant's effective policies and usage (404: a tenant the gateway does not know)", ok: { status: 200, schema: LimitViewSchema, description: "Policies and usage" }, errors: [400, 404, 503] },
  { method: "put", path: tenantLimit, operationId: "setTenantRateLimit", summary: "Override a tenant's policies (mode: enforce or shadow)", body: PoliciesBody, example: { policies: [{ name: "burst", limit: 100, window: "1m" }, { name: "hourly", limit: 2000, window: "1h", mode: "shadow" }] }, ok: { status: 200, schema: LimitViewSchema, description: "The new policies and usage" }, errors: [400, 413, 503] },
  { method: "delete", path: tenantLimit, operationId: "resetTenantRateLimit", summary: "Reset a tenant to the default policies", ok: { status: 200, schema: LimitViewSchema, description: "The default policies and usage" }, errors: [400, 503] },
  { method: "get", path: keyLimit, operationId: "getKeyRateLimit", summary: "A key's own policies and usage", ok: { status: 200, schema: LimitViewSchema, description: "Policies and usage" }, errors: [400, 404, 503] },
  { method: "put", path: keyLimit, operationId: "setKeyRateLimit", summary: "Set a key's own policies (mode: enforce or shadow)", body: PoliciesBody, example: { policies: [{ name: "burst", limit: 10, window: "1m" }] }, ok: { status: 200, schema: LimitViewSchema, description: "The new policies and usage" }, errors: [400, 404, 413, 503] },
  { method: "delete", path: keyLimit, operationId: "resetKeyRateLimit", summary: "Remove a key's own policies", ok: { status: 200, schema: LimitViewSchema, description: "The key's own policies (none)" }, errors: [400, 404, 503] },
  { method: "get", path: "/tenants/:tenantId/audit", operationId: "listAudit", summary: "A tenant's admin changes, newest first", query: AuditQuerySchema, ok: { status: 200, schema: AuditPageSchema, description: "One page; pass nextCursor as cursor for the next" }, errors: [400, 503] },
  { method: "post", path: "/tenants-file/validate", operationId: "validateTenantsFile", summary: "Check a tenants file (npm run admin -- plan): schemas, unknown fields, environment, keys; changes nothing", body: TenantsFileSchema, example: { environment: "development", tenants: { acme: { rateLimit: { policies: [{ name: "burst", limit: 100, window: "1m" }] } }, initech: { rateLimit: null } } }, ok: { status: 200, schema: TenantsFileEntriesSchema, description: "The file's entries" }, errors: [400, 413, 503] },
];

/** Path parameters by name, for the document. */
export const PATH_PARAMS: Record<string, v.GenericSchema> = { tenantId: TenantIdSchema, keyId: KeyIdSchema };
