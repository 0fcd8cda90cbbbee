/**
 * CORS for the customer portal and the One Stack web app. Preflights are answered here, without
 * authentication, and never forwarded. Actual responses to allowed origins expose the request id and the
 * rate-limit fields to scripts. A cross-origin request from an origin not on the list that carries the
 * session cookie is refused: that is the shape of a cross-site request forgery.
 */
import type { MiddlewareHandler } from "hono";
import type { AppEnv } from "../env";
import { GatewayError } from "../errors";
import { findSessionCookie } from "../http/cookies";

const ALLOWED_METHODS = "GET, HEAD, POST, PUT, PATCH, DELETE";
const ALLOWED_HEADERS = ["content-type", "authorization", "x-integration-key", "x-request-id", "if-match", "if-none-match", "accept", "accept-language"];
const EXPOSED_HEADERS = "X-Request-Id, RateLimit, RateLimit-Policy, Retry-After, ETag, Location";

/** Read the way authentication reads it, so a session cookie in a repeated Cookie header counts too. */
function hasSessionCookie(cookieHeader: string | null, name: string): boolean {
  const found = findSessionCookie(cookieHeader, name);
  return found.values.length > 0 || found.smuggled;
}

function originNotAllowed(logReason: string): GatewayError {
  return new GatewayError("FORBIDDEN", { message: "Origin not allowed", details: { reason: "origin_not_allowed" }, logReason });
}

export function cors(): MiddlewareHandler<AppEnv> {
  return async function cors(c, next) {
    const origin = c.req.header("origin");
    if (origin === undefined) return next();
    const config = c.get("config");
    const log = c.get("log");
    const allowed = config.cors.origins.has(origin);
    if (c.req.method === "OPTIONS" && c.req.header("access-control-request-method") !== undefined) {
      log.set({ decision: "answered" });
      if (!allowed) throw originNotAllowed(`preflight from ${origin.slice(0, 100)}`);
      const requested = (c.req.header("access-control-request-headers") ?? "").split(",").map((h) => h.trim().toLowerCase()).filter((h) => h !== "");
      const headers = new Headers({
        "Access-Control-Allow-Origin": origin,
        "Access-Control-Allow-Credentials": "true",
        "Access-Control-Allow-Methods": ALLOWED_METHODS,
        "Access-Control-Allow-Headers": requested.filter((h) => ALLOWED_HEADERS.includes(h)).join(", "),
        "Access-Control-Max-Age": String(config.cors.maxAgeSec),
        Vary: "Origin, Access-Control-Request-Method, Access-Control-Request-Headers",
      });
      return new Response(null, { status: 204, headers });
    }
    if (!allowed && hasSessionCookie(c.req.raw.headers.get("cookie"), config.auth.sessionCookie)) {
      throw originNotAllowed("cross-origin request with the session cookie");
    }
    await next();
    c.res.headers.append("Vary", "Origin");
    if (allowed) {
      c.res.headers.set("Access-Control-Allow-Origin", origin);
      c.res.headers.set("Access-Control-Allow-Credentials", "true");
      c.res.headers.set("Access-Control-Expose-Headers", EXPOSED_HEADERS);
    }
  };
}
