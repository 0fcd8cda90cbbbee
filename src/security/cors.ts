/**
 * CORS for the customer portal and the One Stack web app. Preflights are answered here, without
 * authentication, and never forwarded. Actual responses to allowed origins expose the request id and the
 * rate-limit fields to scripts. (A cross-origin request that carries the session cookie is the cookie
 * check's: src/security/cookie-csrf.ts.)
 */
import type { MiddlewareHandler } from "hono";
import type { AppEnv } from "../env";
import { requestHeader } from "../http/header-names";
import { FORWARDED_METHODS } from "../http/methods";
import { originNotAllowed } from "./cookie-csrf";

const ALLOWED_METHODS = FORWARDED_METHODS.join(", ");
const ALLOWED_HEADERS = ["content-type", "authorization", "x-integration-key", "x-request-id", "if-match", "if-none-match", "accept", "accept-language"];
const EXPOSED_HEADERS = "X-Request-Id, RateLimit, RateLimit-Policy, Retry-After, ETag, Location";

export function cors(): MiddlewareHandler<AppEnv> {
  return async function cors(c, next) {
    const origin = requestHeader(c.req.raw.headers, "origin");
    if (origin === null) return next();
    const config = c.get("config");
    const allowed = config.cors.origins.has(origin);
    if (c.req.method === "OPTIONS" && c.req.header("access-control-request-method") !== undefined) {
      c.get("log").decide("answered");
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
    await next();
    c.res.headers.append("Vary", "Origin");
    if (allowed) {
      c.res.headers.set("Access-Control-Allow-Origin", origin);
      c.res.headers.set("Access-Control-Allow-Credentials", "true");
      c.res.headers.set("Access-Control-Expose-Headers", EXPOSED_HEADERS);
    }
  };
}
