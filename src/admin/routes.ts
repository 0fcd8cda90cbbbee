/**
 * The admin API, under the reserved prefix `/__gateway/admin` (product base paths cannot start with `_`):
 * integration keys (create, list, revoke) and per-tenant rate-limit policies (read, set, reset).
 */
import { Hono } from "hono";
import { generateIntegrationKey, hashKey } from "../auth/integration-key";
import { listKeys, putKey, revokeKeyRecord, type KeyRecord } from "../auth/key-store";
import type { AppEnv } from "../env";
import { GatewayError } from "../errors";
import { secondsUntil } from "../ratelimit/headers";
import { formatWindow, toPolicies } from "../ratelimit/policy";
import { rememberRevoked } from "../auth/revoked-keys";
import { forgetLease } from "../ratelimit/lease-holder";
import type { LimiterStatus } from "../ratelimit/tenant-limiter";
import { adminAuth } from "./admin-auth";
import { jsonBody, keyIdParam, newKeyInput, policiesInput, tenantParam } from "./input";

function newKeyId(): string {
  return `key_${[...crypto.getRandomValues(new Uint8Array(8))].map((b) => b.toString(16).padStart(2, "0")).join("")}`;
}

/** The admin view of a tenant's limits: policies in the admin input shape and current usage. */
function limitView(tenantId: string, status: LimiterStatus) {
  return {
    tenantId,
    overridden: status.overridden,
    policies: status.policies.map((p) => ({ name: p.name, limit: p.limit, window: formatWindow(p.windowSec) })),
    usage: status.states.map((s) => ({ name: s.policy.name, used: s.used, remaining: s.remaining, resetSeconds: secondsUntil(s.retryAtMs ?? s.resetMs, status.nowMs) })),
  };
}

export function adminRoutes(): Hono<AppEnv> {
  const admin = new Hono<AppEnv>();
  admin.use(adminAuth());

  admin.post("/tenants/:tenantId/keys", async (c) => {
    const tenantId = tenantParam(c);
    const input = newKeyInput(await jsonBody(c), c.get("config").products.map((p) => p.name));
    const key = generateIntegrationKey();
    const record: KeyRecord = { keyId: newKeyId(), tenantId, ...input, createdAt: new Date().toISOString(), revokedAt: null };
    await putKey(c.env.KEYS, await hashKey(key), record);
    // The plaintext leaves the gateway exactly once, here.
    return c.json({ key, ...record }, 201, { "Cache-Control": "no-store" });
  });

  admin.get("/tenants/:tenantId/keys", async (c) => c.json({ data: await listKeys(c.env.KEYS, tenantParam(c)) }));

  admin.delete("/tenants/:tenantId/keys/:keyId", async (c) => {
    const tenantId = tenantParam(c);
    const keyId = keyIdParam(c);
    const revoked = await revokeKeyRecord(c.env.KEYS, tenantId, keyId);
    if (revoked === null) throw new GatewayError("NOT_FOUND", { details: { resourceType: "integrationKey", resourceId: keyId } });
    await c.env.TENANT_LIMITER.getByName(tenantId).revokeKey(keyId);
    rememberRevoked(tenantId, [keyId]);
    return c.json(revoked);
  });

  admin.get("/tenants/:tenantId/rate-limit", async (c) => {
    const tenantId = tenantParam(c);
    const status = await c.env.TENANT_LIMITER.getByName(tenantId).status(c.get("config").rateLimit.defaults);
    return c.json(limitView(tenantId, status));
  });

  admin.put("/tenants/:tenantId/rate-limit", async (c) => {
    const tenantId = tenantParam(c);
    const policies = toPolicies(policiesInput(await jsonBody(c)));
    const stub = c.env.TENANT_LIMITER.getByName(tenantId);
    await stub.setPolicies(policies);
    forgetLease(tenantId);
    return c.json(limitView(tenantId, await stub.status(c.get("config").rateLimit.defaults)));
  });

  admin.delete("/tenants/:tenantId/rate-limit", async (c) => {
    const tenantId = tenantParam(c);
    const stub = c.env.TENANT_LIMITER.getByName(tenantId);
    await stub.setPolicies(null);
    forgetLease(tenantId);
    return c.json(limitView(tenantId, await stub.status(c.get("config").rateLimit.defaults)));
  });

  return admin;
}
