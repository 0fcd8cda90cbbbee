/**
 * Recording admin key changes: one call per change that happened (`audit`). Each is written as a log line
 * first — it survives even if the object cannot be reached — and then to the tenant's audit trail
 * (src/audit/audit-log.ts). The change has already happened when it is recorded, so a recording that fails
 * or is not done within AUDIT_TIMEOUT_MS is logged as an error and does not turn the answer into a failure
 * the operator would retry. Policy changes are recorded by the tenant's object in the same step as the
 * change (TenantLimiter.changePolicies), and logged here with `logChange`.
 */
import type { Context } from "hono";
import { isWellFormedKey } from "../auth/integration-key";
import type { AppEnv } from "../env";
import { withDeadline } from "../shared/with-deadline";
import type { AuditAction, AuditInput } from "../audit/audit-log";

/** Any plaintext integration key removed: a `key` field, or a string that is one. */
function redact(value: unknown): unknown {
  if (typeof value === "string") return isWellFormedKey(value) ? "[redacted]" : value;
  if (Array.isArray(value)) return value.map(redact);
  if (typeof value !== "object" || value === null) return value;
  return Object.fromEntries(Object.entries(value).filter(([name]) => name !== "key").map(([name, v]) => [name, redact(v)]));
}


/** The log line of one admin change: written for every change, so it survives a trail that cannot be reached. */
export function logChange(c: Context<AppEnv>, tenantId: string, action: AuditAction, change: { keyId?: string | null; before?: unknown; after?: unknown }): AuditInput {
  const entry: AuditInput = { actor: c.get("adminActor"), action, keyId: change.keyId ?? null, before: redact(change.before ?? null), after: redact(change.after ?? null), requestId: c.get("requestId") };
  console.log(JSON.stringify({ level: "info", msg: "admin change", tenant: tenantId, ...entry }));
  return entry;
}

/** Records one admin change on `tenantId`: a log line, then an entry in the tenant's audit trail. */
export async function audit(c: Context<AppEnv>, tenantId: string, action: AuditAction, change: { keyId?: string; before?: unknown; after?: unknown }): Promise<void> {
  const entry = logChange(c, tenantId, action, change);
  try {
    await withDeadline(c.env.TENANT_LIMITER.getByName(tenantId).recordAudit(entry), c.get("config").admin.auditTimeoutMs);
  } catch (err) {
    console.log(JSON.stringify({ level: "error", msg: "admin change not stored in the audit trail", tenant: tenantId, requestId: entry.requestId, reason: err instanceof Error ? err.message : String(err) }));
  }
}
