/** Reading and validating admin API input; every problem answers VALIDATION_ERROR with `details.fields`. */
import type { Context } from "hono";
import type { AccessLevel } from "../auth/principal";
import { isTenantId, TENANT_ID_RULE } from "../auth/tenant-id";
import { isRecord } from "../config/validate";
import type { AppEnv } from "../env";
import { GatewayError, validationError } from "../errors";
import { isJsonMediaType } from "../proxy/body";
import { parseWindow } from "../ratelimit/policy";

const KEY_ID = /^key_[0-9a-f]{16}$/;
const MAX_ADMIN_BODY = 16 * 1024;

export function tenantParam(c: Context<AppEnv>): string {
  const id = c.req.param("tenantId") ?? "";
  if (!isTenantId(id)) throw validationError({ tenantId: TENANT_ID_RULE });
  return id;
}

export function keyIdParam(c: Context<AppEnv>): string {
  const id = c.req.param("keyId") ?? "";
  if (!KEY_ID.test(id)) throw new GatewayError("NOT_FOUND", { details: { resourceType: "integrationKey", resourceId: id.slice(0, 64) } });
  return id;
}

/** The JSON object body of an admin request. */
export async function jsonBody(c: Context<AppEnv>): Promise<Record<string, unknown>> {
  if (!isJsonMediaType(c.req.header("content-type") ?? null)) throw validationError({ "Content-Type": "Must be application/json" });
  const text = await c.req.text();
  if (text.length > MAX_ADMIN_BODY) throw new GatewayError("PAYLOAD_TOO_LARGE", { details: { limit: MAX_ADMIN_BODY } });
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw new GatewayError("INVALID_JSON");
  }
  if (!isRecord(value)) throw validationError({ body: "Must be a JSON object" });
  return value;
}

export interface NewKeyInput {
  name: string;
  access: Record<string, AccessLevel>;
  expiresAt: string | null;
}

/** Validates a create-key body against the configured products. */
export function newKeyInput(body: Record<string, unknown>, products: readonly string[], nowMs = Date.now()): NewKeyInput {
  const fields: Record<string, string> = {};
  const name = body.name;
  // eslint-disable-next-line no-control-regex
  if (typeof name !== "string" || name.trim() === "" || name.length > 100 || /[\x00-\x1f\x7f]/.test(name)) fields.name = "Must be 1-100 printable characters";
  const access: Record<string, AccessLevel> = {};
  if (!isRecord(body.access) || Object.keys(body.access).length === 0) {
    fields.access = `Must map at least one product (${products.join(", ")}) to "read" or "write"`;
  } else {
    for (const [product, level] of Object.entries(body.access)) {
      if (!products.includes(product)) fields[`access.${product}`] = `Unknown product; one of ${products.join(", ")}`;
      else if (level !== "read" && level !== "write") fields[`access.${product}`] = 'Must be "read" or "write"';
      else access[product] = level;
    }
  }
  let expiresAt: string | null = null;
  if (body.expiresAt !== undefined && body.expiresAt !== null) {
    const t = typeof body.expiresAt === "string" ? Date.parse(body.expiresAt) : NaN;
    if (Number.isNaN(t) || t <= nowMs) fields.expiresAt = "Must be an ISO 8601 time in the future";
    else expiresAt = new Date(t).toISOString();
  }
  if (Object.keys(fields).length > 0) throw validationError(fields, "invalid create-key input");
  return { name: (name as string).trim(), access, expiresAt };
}

/** Policies from `{ policies: [{ name, limit, window: "1m" }] }`; `window` strings become `windowSec`. */
export function policiesInput(body: Record<string, unknown>): unknown {
  if (!Array.isArray(body.policies)) return body.policies;
  return body.policies.map((p: unknown) => {
    if (!isRecord(p)) return p;
    // Only `window` is accepted; a `windowSec` sent directly is ignored, so it fails validation as missing.
    const { window, windowSec: _ignored, ...rest } = p;
    return { ...rest, windowSec: typeof window === "string" ? (parseWindow(window) ?? window) : undefined };
  });
}
