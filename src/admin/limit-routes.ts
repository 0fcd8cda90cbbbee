/** Admin API: a tenant's rate-limit policies (read with usage, set, reset). */
import { Hono } from "hono";
import type { AppEnv } from "../env";
import { secondsUntil } from "../ratelimit/headers";
import { forgetLease } from "../ratelimit/lease-holder";
import { formatWindow, toPolicies } from "../ratelimit/policy";
import type { LimiterStatus } from "../ratelimit/tenant-limiter";
import { auditedPolicyChange } from "./audit";
import { jsonBody, policiesInput, tenantParam } from "./input";

/** The admin view of a tenant's limits: policies in the admin input shape and current usage (permits leased to isolates count as used). */
function limitView(tenantId: string, status: LimiterStatus) {
  return {
    tenantId,
    overridden: status.overridden,
    policies: status.policies.map((p) => ({ name: p.name, limit: p.limit, window: formatWindow(p.windowSec) })),
    usage: status.states.map((s) => ({ name: s.policy.name, used: s.used, remaining: s.remaining, resetSeconds: secondsUntil(s.retryAtMs ?? s.resetMs, status.nowMs) })),
  };
}

export function limitRoutes(): Hono<AppEnv> {
  const limits = new Hono<AppEnv>();

  limits.get("/tenants/:tenantId/rate-limit", async (c) => {
    const tenantId = tenantParam(c);
    const status = await c.env.TENANT_LIMITER.getByName(tenantId).status(c.get("config").rateLimit.defaults);
    return c.json(limitView(tenantId, status));
  });

  // A policy change reaches every isolate with its next lease, within one lease life; this isolate asks at once.
  limits.put("/tenants/:tenantId/rate-limit", async (c) => {
    const tenantId = tenantParam(c);
    const policies = toPolicies(policiesInput(await jsonBody(c)));
    const stub = c.env.TENANT_LIMITER.getByName(tenantId);
    await auditedPolicyChange(c, tenantId, "rate-limit.set", () => stub.setPolicies(policies));
    forgetLease(tenantId);
    return c.json(limitView(tenantId, await stub.status(c.get("config").rateLimit.defaults)));
  });

  limits.delete("/tenants/:tenantId/rate-limit", async (c) => {
    const tenantId = tenantParam(c);
    const stub = c.env.TENANT_LIMITER.getByName(tenantId);
    await auditedPolicyChange(c, tenantId, "rate-limit.reset", () => stub.setPolicies(null));
    forgetLease(tenantId);
    return c.json(limitView(tenantId, await stub.status(c.get("config").rateLimit.defaults)));
  });

  return limits;
}
