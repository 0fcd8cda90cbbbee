/** Authorization step: the pure decision applied to the resolved route. Nothing is forwarded on a refusal. */
import type { MiddlewareHandler } from "hono";
import type { AppEnv } from "../env";
import { authorize } from "./decide";

export function authorizeRoute(): MiddlewareHandler<AppEnv> {
  return async function authorizeRoute(c, next) {
    const principal = c.get("principal"), resolved = c.get("resolved");
    authorize(principal, resolved.product.name, resolved.route);
    await next();
  };
}
