/** Counts the RPC calls a tenant's Durable Object serves, from inside the object (not at a caller's stub). */
import { runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { TenantLimiter } from "../../src/ratelimit/tenant-limiter";

/** The RPC methods of TenantLimiter, each wrapped once (on the class, since RPC refuses a method replaced on an instance). */
const METHODS = ["exchange", "status", "revokeKey", "setPolicies", "changePolicies", "inheritKeyPolicies", "recordAudit", "listAudit"] as const;
const counters = new WeakMap<object, Map<string, number>>();
let wrapped = false;

function wrapOnce(): void {
  if (wrapped) return;
  wrapped = true;
  const proto = TenantLimiter.prototype as unknown as Record<string, (...args: unknown[]) => unknown>;
  for (const name of METHODS) {
    const method = proto[name];
    if (method === undefined) throw new Error(`TenantLimiter has no method ${name}`);
    proto[name] = function (this: object, ...args: unknown[]) {
      const counts = counters.get(this);
      if (counts !== undefined) counts.set(name, (counts.get(name) ?? 0) + 1);
      return method.apply(this, args);
    };
  }
}

/**
 * Counts the calls the tenant's real object serves, through whichever binding or stub they come. Returns
 * the count so far: of every RPC method, or of the one named.
 */
export async function countLimiterCalls(tenantId: string): Promise<(method?: (typeof METHODS)[number]) => number> {
  wrapOnce();
  const counts = new Map<string, number>();
  await runInDurableObject(env.TENANT_LIMITER.getByName(tenantId), (object: TenantLimiter) => {
    counters.set(object, counts);
  });
  return (method) => (method === undefined ? [...counts.values()].reduce((a, b) => a + b, 0) : (counts.get(method) ?? 0));
}
