/**
 * The session cookie's cross-site request forgery check: a cross-origin request from an origin not on the
 * CORS list that carries the session cookie is refused, since a browser attaches the cookie to whatever
 * page sent the request. Requests without an `Origin` (same-origin navigations, non-browser clients) and
 * requests without the cookie pass.
 */
import type { MiddlewareHandler } from "hono";
import type { AppEnv } from "../env";
import { GatewayError } from "../errors";
import { findSessionCookie } from "../http/cookies";
import { requestHeader } from "../http/header-names";

/** Read the way authentication reads it, so a session cookie in a repeated Cookie header counts too. */
function hasSessionCookie(cookieHeader: string | null, name: string): boolean {
  const found = findSessionCookie(cookieHeader, name);
  return found.values.length > 0 || found.smuggled;
}

/** 403 FORBIDDEN with `details.reason: "origin_not_allowed"` (also CORS's answer to a refused preflight). */
export function originNotAllowed(logReason: string): GatewayError {
  return new GatewayError("FORBIDDEN", { message: "Origin not allowed", details: { reason: "origin_not_allowed" }, logReason });
}

export function cookieCsrf(): MiddlewareHandler<AppEnv> {
  return function cookieCsrf(c, next) {
    const headers = c.req.raw.headers;
    const origin = requestHeader(headers, "origin");
    const config = c.get("config");
    if (origin !== null && !config.cors.origins.has(origin) && hasSessionCookie(requestHeader(headers, "cookie"), config.auth.sessionCookie)) {
      throw originNotAllowed("cross-origin request with the session cookie");
    }
    return next();
  };
}
