/**
 * Admin API: rate-limit policies, the tenant's and a key's own (read with usage, set, reset). A key's
 * policies apply besides the tenant's: a request is admitted only if every enforced policy of both admits it.
 */
import { Hono, type Context } from "hono";
import { assertKeyExists } from "../auth/key-admin";
import type { AppEnv } from "../env";
import { secondsUntil } from "../ratelimit/headers";
import { forgetLease } from "../ratelimit/admission";
import { formatWindow } from "../shared/policy";
import type { LimiterStatus } from "../ratelimit/limiter-protocol";
import { audit, auditedPolicyChange } from "./audit";
import { jsonBody, keyIdParam, policiesInput, tenantParam } from "./input";

/** The admin view of limits: policies in the admin input shape and current usage (permits leased to isolates count as used). */
function limitView(status: LimiterStatus, scope: Record<string, string>) {
  return {
    ...scope,
    overridden: status.overridden,
    policies: status.policies.map((p) => ({ name: p.name, limit: p.limit, window: formatWindow(p.windowSec), mode: p.mode ?? "enforce" })),
    usage: status.states.map((s) => ({ name: s.policy.name, used: s.used, remaining: s.remaining, resetSeconds: secondsUntil(s.retryAtMs ?? s.resetMs, status.nowMs) })),
  };
}

const limiter = (c: Context<AppEnv>, tenantId: string) => c.env.TENANT_LIMITER.getByName(tenantId);
const defaults = (c: Context<AppEnv>) => c.get("config").rateLimit.defaults;

export function limitRoutes(): Hono<AppEnv> {
  const limits = new Hono<AppEnv>();

  limits.get("/tenants/:tenantId/rate-limit", async (c) => {
    const tenantId = tenantParam(c);
    const status = await limiter(c, tenantId).status(defaults(c));
    return c.json({ ...limitView(status, { tenantId }), keysWithPolicies: status.keysWithPolicies });
  });

  // A policy change reaches every isolate with its next lease, within one lease life; this isolate asks at once.
  limits.put("/tenants/:tenantId/rate-limit", async (c) => {
    const tenantId = tenantParam(c);
    const policies = policiesInput(await jsonBody(c));
    await auditedPolicyChange(c, tenantId, "rate-limit.set", () => limiter(c, tenantId).setPolicies(policies));
    forgetLease(tenantId);
    return c.json(limitView(await limiter(c, tenantId).status(defaults(c)), { tenantId }));
  });

  limits.delete("/tenants/:tenantId/rate-limit", async (c) => {
    const tenantId = tenantParam(c);
    await auditedPolicyChange(c, tenantId, "rate-limit.reset", () => limiter(c, tenantId).setPolicies(null));
    forgetLease(tenantId);
    return c.json(limitView(await limiter(c, tenantId).status(defaults(c)), { tenantId }));
  });

  limits.get("/tenants/:tenantId/keys/:keyId/rate-limit", async (c) => {
    const tenantId = tenantParam(c);
    const keyId = keyIdParam(c);
    return c.json(limitView(await limiter(c, tenantId).status(defaults(c), keyId, "key"), { tenantId, keyId }));
  });

  limits.put("/tenants/:tenantId/keys/:keyId/rate-limit", async (c) => {
    const tenantId = tenantParam(c);
    const keyId = keyIdParam(c);
    const policies = policiesInput(await jsonBody(c));
    await assertKeyExists(c.env, tenantId, keyId, c.get("config").admin.storeTimeoutMs);
    const before = await limiter(c, tenantId).status(defaults(c), keyId, "key");
    await limiter(c, tenantId).setKeyPolicies(keyId, policies);
    await audit(c, tenantId, "key-rate-limit.set", { keyId, before: before.overridden ? before.policies : null, after: policies });
    forgetLease(tenantId);
    return c.json(limitView(await limiter(c, tenantId).status(defaults(c), keyId, "key"), { tenantId, keyId }));
  });

  limits.delete("/tenants/:tenantId/keys/:keyId/rate-limit", async (c) => {
    const tenantId = tenantParam(c);
    const keyId = keyIdParam(c);
    const before = await limiter(c, tenantId).status(defaults(c), keyId, "key");
    await limiter(c, tenantId).setKeyPolicies(keyId, null);
    await audit(c, tenantId, "key-rate-limit.reset", { keyId, before: before.overridden ? before.policies : null, after: null });
    forgetLease(tenantId);
    return c.json(limitView(await limiter(c, tenantId).status(defaults(c), keyId, "key"), { tenantId, keyId }));
  });

  return limits;
}
