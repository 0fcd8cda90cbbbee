/** Counts the RPC calls a tenant's Durable Object serves, from inside the object (not at a caller's stub). */
import { runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import type { TenantLimiter } from "../../src/ratelimit/tenant-limiter";

/**
 * Counts the calls the tenant's real object serves, through whichever binding or stub they come: every RPC
 * method of TenantLimiter (`exchange`, `status`, `revokeKey`, the audit calls) reads the object's clock
 * exactly once, and the clock is the object's test seam (RPC refuses a method replaced on the instance).
 * Returns the count so far. Call it after any `runInDurableObject` that replaces the clock itself.
 */
export async function countLimiterCalls(tenantId: string): Promise<() => number> {
  let calls = 0;
  await runInDurableObject(env.TENANT_LIMITER.getByName(tenantId), (object: TenantLimiter) => {
    const read = object.clock;
    object.clock = () => {
      calls += 1;
      return read();
    };
  });
  return () => calls;
}
