/**
 * Admission for authenticated requests: at most one Durable Object RPC per request, none while the tenant
 * is known to be over its limit. The same call tells whether the integration key was revoked. When the
 * limiter cannot be reached in time, the configured fail policy decides (README: "Fail policy").
 */
import type { MiddlewareHandler } from "hono";
import type { AppEnv } from "../env";
import { GatewayError } from "../errors";
import { cachedDenial, rememberDenial } from "./deny-cache";
import { rateLimitExceeded } from "./headers";
import type { AdmitResult } from "./tenant-limiter";

class LimiterTimeout extends Error {
  override name = "LimiterTimeout";
}

/**
 * Rejects if `promise` has not settled within `ms`. The timer is cleared as soon as the answer comes:
 * AbortSignal.timeout would need no clearing, but its timers stay pending until they fire, and at a
 * thousand requests a second that pile grew the isolate's memory and CPU per request (bench).
 */
async function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | null = null;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new LimiterTimeout(`limiter did not answer within ${ms} ms`)), ms);
  });
  try {
    return await Promise.race([promise, deadline]);
  } finally {
    if (timer !== null) clearTimeout(timer);
  }
}

export function rateLimit(): MiddlewareHandler<AppEnv> {
  return async function rateLimit(c, next) {
    const principal = c.get("principal");
    const config = c.get("config");
    const log = c.get("log");
    const tenantId = principal.tenantId;
    const denied = cachedDenial(tenantId);
    if (denied !== null) {
      log.set({ rateLimitRemaining: 0, reason: "deny cache" });
      throw rateLimitExceeded(denied.violated, denied.states, denied.limiterNowMs);
    }
    let result: AdmitResult;
    try {
      const stub = c.env.TENANT_LIMITER.getByName(tenantId);
      const admitted = stub.admit({ keyId: principal.type === "key" ? principal.keyId : null, defaults: config.rateLimit.defaults });
      result = (await withTimeout(admitted, config.rateLimit.timeoutMs)) as AdmitResult;
    } catch (err) {
      const reason = err instanceof Error ? `${err.name}: ${err.message}` : String(err);
      if (config.rateLimit.failMode === "closed") {
        throw new GatewayError("SERVICE_UNAVAILABLE", { headers: { "Retry-After": "1" }, logReason: `rate limiter unavailable (fail closed): ${reason}` });
      }
      log.set({ decision: "admitted", rateLimitFailOpen: true, reason: `rate limiter unavailable (fail open): ${reason}` });
      await next();
      return;
    }
    if (result.revoked) throw new GatewayError("UNAUTHORIZED", { logReason: "integration key revoked" });
    if (!result.allowed && result.violated !== null) {
      rememberDenial(tenantId, result.violated, result.states, result.nowMs);
      log.set({ rateLimitRemaining: 0 });
      throw rateLimitExceeded(result.violated, result.states, result.nowMs);
    }
    log.set({ decision: "admitted", rateLimitRemaining: result.remaining });
    await next();
    for (const [name, value] of Object.entries(result.headers)) c.res.headers.set(name, value);
  };
}
