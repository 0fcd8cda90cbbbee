/**
 * Admission for authenticated requests, from the tenant's permits leased to this isolate (lease-holder.ts):
 * no Durable Object call while a usable permit is held. A request waits for the object only when none is,
 * and then the fail policy covers an object that cannot answer in time (docs/rate-limiting.md, "Fail policy"): permits
 * already leased stay usable until their lease ends either way. A route's `cost` is the permits it takes.
 */
import type { MiddlewareHandler } from "hono";
import type { AppEnv } from "../env";
import { GatewayError } from "../errors";
import { isReadMethod } from "../http/methods";
import { refuse } from "../ops/refuse";
import { rateLimitExceeded, rateLimitHeaders } from "./headers";
import { holderFor } from "./admission";
import type { Exchange } from "./lease-holder";
import { exchangeWith } from "./limiter-call";

let holderId: string | null = null;

/** This isolate's id in the tenant objects' view (random values cannot be made at start-up in a Worker). */
function isolateId(): string {
  holderId ??= crypto.randomUUID();
  return holderId;
}

export function rateLimit(): MiddlewareHandler<AppEnv> {
  return async function rateLimit(c, next) {
    const principal = c.get("principal");
    const config = c.get("config");
    const log = c.get("log");
    const tenantId = principal.tenantId;
    const settings = config.rateLimit.lease;
    const keyId = principal.type === "key" ? principal.keyId : null;
    // Built from the env alone (not the request), so a report at a lease's end, after this request, can use it.
    const limiters = c.env.TENANT_LIMITER;
    const defaults = config.rateLimit.defaults;
    const exchange: Exchange = (req) => exchangeWith(limiters, tenantId, { ...req, holderId: isolateId(), defaults });
    const cost = c.get("resolved").route.cost;
    // A portal customer is not told what remains of the tenant's shared budget (RateLimit fields), as in
    // the limits view; a refusal still says when to come back (Retry-After).
    const showsUsage = principal.type !== "portal";
    const background = (p: Promise<unknown>) => c.executionCtx.waitUntil(p);
    const outcome = await holderFor(tenantId, background).admit(keyId, cost, settings, exchange, background);
    switch (outcome.kind) {
      case "revoked":
        throw new GatewayError("UNAUTHORIZED", { logReason: "integration key revoked" });
      case "refused":
        // A deny-cache refusal did not wait for the limiter: its leaseWait is 0 by the step's own word, not
        // the wall time the step took (which a loaded isolate can make 1 ms).
        log.rateLimit({ rateLimitRemaining: 0, leaseWait: !outcome.cached, ...(outcome.cached ? { rateLimitCached: true } : {}) });
        return refuse(c, rateLimitExceeded(outcome.violated, showsUsage ? outcome.states : [], outcome.limiterNowMs, outcome.cached));
      case "unavailable":
        if (config.rateLimit.failMode === "closed" || (config.rateLimit.failMode === "reads-open" && !isReadMethod(c.req.method))) {
          throw new GatewayError("SERVICE_UNAVAILABLE", { headers: { "Retry-After": "1" }, logReason: `rate limiter unavailable (fail mode ${config.rateLimit.failMode}, ${c.req.method}): ${outcome.reason}` });
        }
        log.decide("admitted");
        log.rateLimit({ rateLimitFailOpen: true, rateLimitError: `rate limiter unavailable (fail mode ${config.rateLimit.failMode}): ${outcome.reason}` });
        await next();
        return;
      case "admitted": {
        const enforced = outcome.states.filter((s) => s.policy.mode !== "shadow");
        log.decide("admitted");
        log.rateLimit({
          admittedAt: outcome.atMs,
          rateLimitRemaining: Math.min(...enforced.map((s) => s.remaining)),
          leaseWait: outcome.waited,
          ...(outcome.shadowViolated.length > 0 ? { shadowViolated: outcome.shadowViolated } : {}),
        });
        await next();
        if (!showsUsage) return;
        const headers = c.res.headers; // read once: each read of a Response's property crosses into the runtime
        for (const [name, value] of Object.entries(rateLimitHeaders(outcome.states, outcome.limiterNowMs))) headers.set(name, value);
      }
    }
  };
}
