/**
 * Admin API: rate-limit policies, the tenant's and a key's own (read with usage, set, reset). A key's
 * policies apply besides the tenant's: a request is admitted only if every enforced policy of both admits it.
 * A key's routes answer 404 for a key the tenant does not have, before the tenant's object is asked. Every
 * call to the tenant's object waits at most ADMIN_STORE_TIMEOUT_MS; late or failed, it is 503.
 */
import { Hono, type Context } from "hono";
import { assertKeyExists } from "../auth/key-admin";
import type { AppEnv } from "../env";
import { secondsToReset } from "../ratelimit/headers";
import { forgetLease } from "../ratelimit/admission";
import { formatWindow, type Policy } from "../shared/policy";
import type { LimiterStatus } from "../ratelimit/limiter-protocol";
import { storeCall } from "../shared/store-call";
import type { AuditAction } from "../audit/audit-log";
import { logChange } from "./audit";
import { jsonBody, keyIdParam, policiesInput, tenantParam, tenantPoliciesInput } from "./input";

/** The admin view of limits: policies in the admin input shape and current usage (permits leased to isolates count as used). */
function limitView(status: LimiterStatus, scope: Record<string, string>) {
  return {
    ...scope,
    overridden: status.overridden,
    policies: status.policies.map((p) => ({ name: p.name, limit: p.limit, window: formatWindow(p.windowSec), mode: p.mode ?? "enforce" })),
    usage: status.states.map((s) => ({ name: s.policy.name, used: s.used, remaining: s.remaining, resetSeconds: secondsToReset(s, status.nowMs) })),
  };
}

const timeout = (c: Context<AppEnv>) => c.get("config").admin.storeTimeoutMs;
const defaults = (c: Context<AppEnv>) => c.get("config").rateLimit.defaults;

/** The tenant's object, each call bounded by ADMIN_STORE_TIMEOUT_MS. */
function limiter(c: Context<AppEnv>, tenantId: string) {
  const stub = c.env.TENANT_LIMITER.getByName(tenantId);
  return {
    status: (keyId: string | null = null, scope: "all" | "key" = "all") => storeCall("limiter", timeout(c), () => stub.status(defaults(c), keyId, scope)),
    change: (keyId: string | null, policies: Policy[] | null, action: AuditAction) =>
      storeCall("limiter", timeout(c), () => stub.changePolicies(keyId, policies, { actor: c.get("adminActor"), action, requestId: c.get("requestId") })),
  };
}

/** Applies a policy change and its audit entry in the tenant's object, then logs it (when something changed). */
async function change(c: Context<AppEnv>, tenantId: string, keyId: string | null, policies: Policy[] | null, action: AuditAction): Promise<void> {
  const done = await limiter(c, tenantId).change(keyId, policies, action);
  // This isolate's next request for the tenant asks the object; others learn within one lease life.
  forgetLease(tenantId);
  if (done.changed) logChange(c, tenantId, action, { keyId, before: done.before, after: done.after });
}

export function limitRoutes(): Hono<AppEnv> {
  const limits = new Hono<AppEnv>();

  limits.get("/tenants/:tenantId/rate-limit", async (c) => {
    const tenantId = tenantParam(c);
    const status = await limiter(c, tenantId).status();
    return c.json({ ...limitView(status, { tenantId }), keysWithPolicies: status.keysWithPolicies });
  });

  limits.put("/tenants/:tenantId/rate-limit", async (c) => {
    const tenantId = tenantParam(c);
    await change(c, tenantId, null, tenantPoliciesInput(await jsonBody(c)), "rate-limit.set");
    return c.json(limitView(await limiter(c, tenantId).status(), { tenantId }));
  });

  limits.delete("/tenants/:tenantId/rate-limit", async (c) => {
    const tenantId = tenantParam(c);
    await change(c, tenantId, null, null, "rate-limit.reset");
    return c.json(limitView(await limiter(c, tenantId).status(), { tenantId }));
  });

  limits.get("/tenants/:tenantId/keys/:keyId/rate-limit", async (c) => {
    const tenantId = tenantParam(c);
    const keyId = keyIdParam(c);
    await assertKeyExists(c.env, tenantId, keyId, timeout(c));
    return c.json(limitView(await limiter(c, tenantId).status(keyId, "key"), { tenantId, keyId }));
  });

  limits.put("/tenants/:tenantId/keys/:keyId/rate-limit", async (c) => {
    const tenantId = tenantParam(c);
    const keyId = keyIdParam(c);
    const policies = policiesInput(await jsonBody(c));
    await assertKeyExists(c.env, tenantId, keyId, timeout(c));
    await change(c, tenantId, keyId, policies, "key-rate-limit.set");
    return c.json(limitView(await limiter(c, tenantId).status(keyId, "key"), { tenantId, keyId }));
  });

  limits.delete("/tenants/:tenantId/keys/:keyId/rate-limit", async (c) => {
    const tenantId = tenantParam(c);
    const keyId = keyIdParam(c);
    await assertKeyExists(c.env, tenantId, keyId, timeout(c));
    await change(c, tenantId, keyId, null, "key-rate-limit.reset");
    return c.json(limitView(await limiter(c, tenantId).status(keyId, "key"), { tenantId, keyId }));
  });

  return limits;
}
