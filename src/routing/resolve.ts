/**
 * Resolves the request to a product and a route before any other decision, from the one path that will
 * be forwarded. Unknown product or route: 404, nothing forwarded; known path, other method: 405 + Allow.
 */
import type { MiddlewareHandler } from "hono";
import type { AppEnv } from "../env";
import { GatewayError } from "../errors";
import { queryOf } from "../http/query";
import { assertNoMethodOverride } from "./method-override";
import { assertSafePath } from "./path-safety";
import { matchRoute, splitSegments } from "./route-table";

export function resolveRoute(): MiddlewareHandler<AppEnv> {
  return function resolveRoute(c, next) {
    const url = c.get("url");
    const pathname = url.pathname;
    assertSafePath(pathname);
    assertNoMethodOverride(c.req.raw.headers, queryOf(url));
    const slash = pathname.indexOf("/", 1);
    const product = c.get("config").productsByBase.get(slash === -1 ? pathname : pathname.slice(0, slash));
    if (product === undefined) throw new GatewayError("NOT_FOUND", { details: null, logReason: "no product for path" });
    const path = slash === -1 ? "/" : pathname.slice(slash);
    const match = matchRoute(product.routes, c.req.method, splitSegments(path));
    c.get("log").route({ product: product.name });
    if (match.kind === "none") throw new GatewayError("NOT_FOUND", { details: null, logReason: "no route for path" });
    if (match.kind === "method-not-allowed") {
      throw new GatewayError("METHOD_NOT_ALLOWED", { details: { allowed: match.allow }, headers: { Allow: match.allow.join(", ") } });
    }
    const { route } = match;
    c.set("resolved", { product, route, path, search: url.search });
    c.get("log").route({ route: `${route.method} ${route.pattern}`, permission: `${product.name}:${route.permission}` });
    return next();
  };
}
