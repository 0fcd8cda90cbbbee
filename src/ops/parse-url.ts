/** The request URL, parsed once for every later step (routing, credentials, forwarding headers, CORS). */
import type { MiddlewareHandler } from "hono";
import type { AppEnv } from "../env";

export function parseUrl(): MiddlewareHandler<AppEnv> {
  return function parseUrl(c, next) {
    c.set("url", new URL(c.req.url));
    return next();
  };
}
