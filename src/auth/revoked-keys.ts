/**
 * The integration keys this isolate knows to be revoked, per tenant, as learned from the tenant's lease
 * exchanges (ratelimit/lease-holder.ts). Authentication refuses them at once, before any quota is spent or
 * any authorization answer (403) could tell a revoked key from an unknown one. Bounded: a tenant past the
 * bound forgets its oldest entries, which then fall back to the key's KV record.
 */

const MAX_PER_TENANT = 5_000;
const MAX_TENANTS = 10_000;
const revoked = new Map<string, Set<string>>();

/** Records revoked key ids of a tenant. */
export function rememberRevoked(tenantId: string, keyIds: readonly string[]): void {
  if (keyIds.length === 0) return;
  let set = revoked.get(tenantId);
  if (set === undefined) {
    if (revoked.size >= MAX_TENANTS) revoked.delete(revoked.keys().next().value as string);
    revoked.set(tenantId, (set = new Set()));
  }
  for (const keyId of keyIds) {
    if (set.size >= MAX_PER_TENANT) set.delete(set.values().next().value as string);
    set.add(keyId);
  }
}

/** Whether this isolate knows the key to be revoked. */
export function isKnownRevoked(tenantId: string, keyId: string): boolean {
  return revoked.get(tenantId)?.has(keyId) === true;
}
