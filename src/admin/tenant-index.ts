/**
 * The tenant index as the admin API keeps and reads it (storage: src/audit/tenant-index.ts, in the key
 * directory's `tenant-index` object). One hook in src/admin/routes.ts, none in the routes themselves
 * (`tenantIndexHooks`): it records a tenant after every successful change under `/tenants/:tenantId/…`,
 * and answers 404 to a read of the limits of a tenant the gateway does not know (GET /tenants/:tenantId,
 * in src/admin/tenant-routes.ts, likewise). A tenant the index has not seen
 * (changed before the index existed, or its index write failed) is looked up in the authorities (its keys
 * in the directory, its policies and usage in its limiter) and, if found there, adopted into the index.
 */
import type { Context, MiddlewareHandler } from "hono";
import { directoryCall, listKeys } from "../auth/key-admin";
import { keyNow } from "../auth/key-store";
import { SHARD_COUNT } from "../auth/key-record";
import type { AppEnv } from "../env";
import { GatewayError } from "../errors";
import { TENANT_INDEX_NAME, type IndexedTenant } from "../audit/tenant-index";
import { storeCall } from "../shared/store-call";
import { tenantParam } from "./input";

const index = (c: Context<AppEnv>) => c.env.KEY_DIRECTORY.getByName(TENANT_INDEX_NAME);
const timeoutMs = (c: Context<AppEnv>) => c.get("config").admin.storeTimeoutMs;

/** The tenant's limiter state the index keeps: its override, and how many keys have policies of their own. */
async function limiterState(c: Context<AppEnv>, tenantId: string) {
  const status = await storeCall("limiter", timeoutMs(c), () => c.env.TENANT_LIMITER.getByName(tenantId).status(c.get("config").rateLimit.defaults));
  return { overridden: status.overridden, keysWithPolicies: status.keysWithPolicies.length, used: status.states.some((s) => s.used > 0) };
}

/** Records `tenantId` in the index now (adopted: with no known time of last change). */
async function record(c: Context<AppEnv>, tenantId: string, state: { overridden: boolean; keysWithPolicies: number }, adopted = false): Promise<void> {
  const stub = index(c);
  await directoryCall(timeoutMs(c), () => (adopted ? stub.adoptTenant(tenantId, state) : stub.indexTenant(tenantId, state)));
}

/**
 * The index's hooks on every route under `/tenants/:tenantId/…`: before a read of a tenant's limits (GET
 * /tenants/:tenantId/rate-limit), a tenant the gateway does not know answers 404; after a successful change (any other method answered 2xx),
 * the tenant, the time and its limiter's state go into the index. The change has happened by then: a failed
 * index write is logged, not answered (the next read of the tenant adopts it from the authorities).
 */
export function tenantIndexHooks(): MiddlewareHandler<AppEnv> {
  return async function tenantIndexHooks(c, next) {
    // The tenant's collections (keys, audit) answer empty for an unknown tenant, which is true; its limit
    // view would show the default policies as if the tenant were configured, so it is 404. (A key's limit
    // view is the key's 404 already: an unknown tenant has no keys.)
    if (c.req.method === "GET" && /^\/tenants\/[^/]+\/rate-limit$/.test(c.req.path.slice(c.req.path.indexOf("/tenants/")))) {
      const tenantId = tenantParam(c);
      if ((await findTenant(c, tenantId)) === null) throw unknownTenant(tenantId);
      return next();
    }
    await next();
    if (c.res.status >= 300) return;
    const tenantId = c.req.param("tenantId") ?? "";
    try {
      await record(c, tenantId, await limiterState(c, tenantId));
    } catch (err) {
      console.log(JSON.stringify({ level: "error", msg: "tenant not recorded in the tenant index", tenant: tenantId, requestId: c.get("requestId"), reason: err instanceof Error ? err.message : String(err) }));
    }
  };
}

/** The tenant's index entry, adopting a tenant the authorities know; null for a tenant the gateway does not know. */
export async function findTenant(c: Context<AppEnv>, tenantId: string): Promise<IndexedTenant | null> {
  const found = await directoryCall(timeoutMs(c), () => index(c).indexedTenant(tenantId));
  if (found !== null) return found;
  const [state, keys] = await Promise.all([limiterState(c, tenantId), listKeys(c.env, tenantId, keyNow(), timeoutMs(c))]);
  if (keys.length === 0 && !state.overridden && state.keysWithPolicies === 0 && !state.used) return null;
  await record(c, tenantId, state, true);
  return directoryCall(timeoutMs(c), () => index(c).indexedTenant(tenantId));
}

export const unknownTenant = (tenantId: string) =>
  new GatewayError("NOT_FOUND", { details: { resourceType: "tenant", resourceId: tenantId }, logReason: "tenant has no keys, no policies, no usage and no admin changes" });

/** A tenant as listed: the index's entry and its key counts from the directory. */
export interface TenantSummary extends IndexedTenant {
  keys: number;
  usableKeys: number;
}

/**
 * Up to `limit` tenants after `cursor`, in tenant id order: every tenant in the index and every tenant with
 * keys in any directory shard (a tenant found only there is adopted). `nextCursor` is null on the last page.
 */
export async function listTenantSummaries(c: Context<AppEnv>, cursor: string, limit: number): Promise<{ data: TenantSummary[]; nextCursor: string | null }> {
  const shards = Array.from({ length: SHARD_COUNT }, (_, i) => c.env.KEY_DIRECTORY.getByName(`shard-${i.toString(16)}`));
  const [indexed, ...counts] = await directoryCall(timeoutMs(c), () => Promise.all([index(c).indexedTenants(cursor, limit), ...shards.map((s) => s.tenantKeyCounts(cursor, limit))]));
  const ids = [...new Set([...indexed.map((t) => t.tenantId), ...counts.flat().map((k) => k.tenantId)])].sort();
  const more = ids.length > limit || indexed.length === limit || counts.some((list) => list.length === limit);
  const page = ids.slice(0, limit);
  const data: TenantSummary[] = [];
  for (const tenantId of page) {
    const keyCounts = counts.flat().filter((k) => k.tenantId === tenantId);
    let entry = indexed.find((t) => t.tenantId === tenantId);
    if (entry === undefined) {
      const state = await limiterState(c, tenantId);
      await record(c, tenantId, state, true);
      entry = { tenantId, overridden: state.overridden, keysWithPolicies: state.keysWithPolicies, lastChangeAt: null };
    }
    data.push({
      tenantId,
      keys: keyCounts.reduce((n, k) => n + k.keys, 0),
      usableKeys: keyCounts.reduce((n, k) => n + k.usableKeys, 0),
      overridden: entry.overridden,
      keysWithPolicies: entry.keysWithPolicies,
      lastChangeAt: entry.lastChangeAt,
    });
  }
  return { data, nextCursor: more && page.length > 0 ? (page.at(-1) as string) : null };
}
