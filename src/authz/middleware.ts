/**
 * Authorization step: the pure decision applied to the resolved route. Nothing is forwarded on a refusal.
 * A key about to be refused with 403 is first checked against its tenant's revocation list: a revoked key
 * must look exactly like an unknown one (401), even while an isolate still caches its record. That costs a
 * Durable Object call on the refusal path only; admitted requests learn of revocation from the limiter call.
 */
import type { MiddlewareHandler } from "hono";
import type { AppEnv } from "../env";
import { GatewayError } from "../errors";
import { authorize } from "./decide";

export function authorizeRoute(): MiddlewareHandler<AppEnv> {
  return async function authorizeRoute(c, next) {
    const principal = c.get("principal");
    const resolved = c.get("resolved");
    try {
      authorize(principal, resolved.product.name, resolved.route);
    } catch (err) {
      if (principal.type === "key" && (await c.env.TENANT_LIMITER.getByName(principal.tenantId).isRevoked(principal.keyId))) {
        throw new GatewayError("UNAUTHORIZED", { logReason: `integration key ${principal.keyId} revoked` });
      }
      throw err;
    }
    await next();
  };
}
