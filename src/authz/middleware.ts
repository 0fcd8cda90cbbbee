/** Authorization step: the pure decision applied to the resolved route. Nothing is forwarded on a refusal. */
import type { MiddlewareHandler } from "hono";
import type { AppEnv } from "../env";
import { authorize } from "./decide";

export function authorizeRoute(): MiddlewareHandler<AppEnv> {
  return function authorizeRoute(c, next) {
    authorize(c.get("principal"), c.get("resolved").product.name, c.get("resolved").route);
    return next();
  };
}
