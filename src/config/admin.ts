/**
 * The admin API's deadlines from vars: how long an admin write waits for each store it changes (the key
 * directory, KV, the tenant's limiter), and how long recording a change in the tenant's audit trail may take.
 */
import { expectInt } from "./validate";

export interface AdminConfig {
  /** One call to the key directory, KV or the tenant's limiter; a late directory call is 503, a late later step `"failed"`. */
  storeTimeoutMs: number;
  /** Recording one change in the tenant's audit trail; a late recording is logged, the change still answers. */
  auditTimeoutMs: number;
}

/** The admin deadlines from vars, today's figures by default; a value out of bounds is a ConfigError naming its var. */
export function parseAdminConfig(vars: Record<string, unknown>): AdminConfig {
  return {
    storeTimeoutMs: expectInt(vars.ADMIN_STORE_TIMEOUT_MS ?? 5000, "ADMIN_STORE_TIMEOUT_MS", 10, 60_000),
    auditTimeoutMs: expectInt(vars.AUDIT_TIMEOUT_MS ?? 2000, "AUDIT_TIMEOUT_MS", 10, 60_000),
  };
}
