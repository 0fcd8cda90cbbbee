/**
 * Admin API: `POST /tenants-file/validate`, the check behind `npm run admin -- plan` and `apply` (a tenants
 * file: scripts/admin/tenants-file.mjs). The gateway validates the whole file with its own schemas (the
 * ones `PUT …/rate-limit` uses, src/admin/schemas.ts), refuses unknown fields at every level, checks that
 * the file is for this gateway's environment and that every key it names exists, and answers every problem
 * at once (`details.fields`, named by their place in the file), or the file's entries. It changes nothing.
 * The CLI asks the gateway rather than carrying a copy of the schemas, so a plan is checked by the very code
 * and configuration that will apply it, whatever version the operator's checkout is.
 */
import { Hono } from "hono";
import * as v from "valibot";
import { assertKeyExists } from "../auth/key-admin";
import type { AppEnv } from "../env";
import { GatewayError, validationError } from "../errors";
import { isRecord } from "../shared/records";
import { issuesToFields } from "../shared/schema-issues";
import { isTenantId } from "../shared/tenant-id";
import { jsonBody } from "./input";
import { fields, KEY_ID_PATTERN, PoliciesBody, TenantIdSchema, type DescribeFn } from "./schemas";
import { closedJsonSchema, unknownFields } from "./unknown-fields";

/** A whole file of many tenants is larger than one admin change. */
const MAX_FILE_BYTES = 1024 * 1024;

/** `rateLimit`: policies (exactly these), or null (back to the gateway default); absent: left alone. */
const RateLimitEntry = v.optional(v.nullable(PoliciesBody));
const KeyIdKey = v.pipe(v.string(), v.regex(KEY_ID_PATTERN, "Must be a key id: key_ and 16 hex digits"));

/**
 * An object keyed by ids: valibot's record takes an array as an object with no entries, which would read
 * `"tenants": []` as "no tenants"; an array is refused here first.
 */
function objectOf<K extends v.GenericSchema<string, string>, V extends v.GenericSchema>(key: K, value: V, message: string) {
  const record = v.record(key, value, message);
  return v.pipe(v.custom<Record<string, unknown>>(isRecord, message), v.metadata({ describe: ((toJson) => toJson(record)) satisfies DescribeFn }), record);
}

const FileSchema = fields({
  /** A note for the file's readers (JSON Schema's convention), ignored. */
  $comment: v.optional(v.string()),
  environment: v.string("Must name the environment this file is for, as the gateway's health reports it"),
  tenants: objectOf(TenantIdSchema, fields({ rateLimit: RateLimitEntry, keys: v.optional(objectOf(KeyIdKey, fields({ rateLimit: RateLimitEntry }), "Must be an object of key ids")) }), "Must be an object of tenant ids"),
});

/** The file; unknown fields at any level are refused (`unknownFields`), which its JSON Schema says too. */
export const TenantsFileSchema = v.pipe(FileSchema, v.metadata({ describe: ((toJson) => closedJsonSchema(toJson(FileSchema))) satisfies DescribeFn }));

export interface Entry {
  tenantId: string;
  keyId?: string;
  policies: v.InferOutput<typeof PoliciesBody>["policies"] | null;
}

/** The (tenant, key id) pairs of a raw file whose ids are well-formed, whatever else is wrong with it. */
function namedKeys(body: Record<string, unknown>): Array<[string, string]> {
  const pairs: Array<[string, string]> = [];
  if (!isRecord(body.tenants)) return pairs;
  for (const [tenantId, tenant] of Object.entries(body.tenants)) {
    if (!isTenantId(tenantId) || !isRecord(tenant) || !isRecord(tenant.keys)) continue;
    for (const keyId of Object.keys(tenant.keys)) if (KEY_ID_PATTERN.test(keyId)) pairs.push([tenantId, keyId]);
  }
  return pairs;
}

export function tenantsFileRoutes(): Hono<AppEnv> {
  const routes = new Hono<AppEnv>();
  routes.post("/tenants-file/validate", async (c) => {
    const body = await jsonBody(c, MAX_FILE_BYTES);
    const config = c.get("config");
    const parsed = v.safeParse(TenantsFileSchema, body);
    const problems = issuesToFields([...unknownFields(TenantsFileSchema, body), ...(parsed.success ? [] : parsed.issues)]);
    if (typeof body.environment === "string" && body.environment !== config.environment) {
      problems.environment = `Must be ${JSON.stringify(config.environment)}, this gateway's environment: the file is for ${JSON.stringify(body.environment)}`;
    }
    // Every well-formed key id is checked, even in a file with other problems, so all are named at once.
    await Promise.all(
      namedKeys(body).map(([tenantId, keyId]) =>
        assertKeyExists(c.env, tenantId, keyId, config.admin.storeTimeoutMs).catch((err: unknown) => {
          if (!(err instanceof GatewayError && err.code === "NOT_FOUND")) throw err;
          problems[`tenants.${tenantId}.keys.${keyId}`] = "No such key for this tenant";
        }),
      ),
    );
    if (Object.keys(problems).length > 0 || !parsed.success) throw validationError(problems, "invalid tenants file");
    const entries: Entry[] = [];
    for (const [tenantId, tenant] of Object.entries(parsed.output.tenants)) {
      if (tenant.rateLimit !== undefined) entries.push({ tenantId, policies: tenant.rateLimit?.policies ?? null });
      for (const [keyId, key] of Object.entries(tenant.keys ?? {})) {
        if (key.rateLimit !== undefined) entries.push({ tenantId, keyId, policies: key.rateLimit?.policies ?? null });
      }
    }
    return c.json({ environment: config.environment, entries });
  });
  return routes;
}
