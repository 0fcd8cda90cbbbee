/**
 * Admin API authentication, and the admin identity the audit trail records:
 * - a Cloudflare Access token in `Cf-Access-Jwt-Assertion` when ACCESS_TEAM_DOMAIN / ACCESS_AUD are set
 *   (deployments; src/admin/access-jwt.ts): identity `access:<email>`;
 * - else `Authorization: Bearer <secret>`, compared in constant time (both sides hashed first so lengths
 *   never differ) with ADMIN_SECRET and, during a rotation, ADMIN_SECRET_NEXT — always with both, so the
 *   time taken does not say which one matched: identity `admin-secret` / `admin-secret-next`.
 * Without any of them configured the admin API does not exist: 404.
 *
 * Failed authentications are limited per client address with the Workers Rate Limiting binding
 * (`ADMIN_AUTH_LIMITER`, 10 per 60 s, wrangler.toml): the binding only counts failures, and once it refuses,
 * the address is refused in this isolate for the period *before* its secret is compared, so a right guess
 * is never told apart from a wrong one while the address is limited.
 */
import type { MiddlewareHandler } from "hono";
import type { AuthConfig } from "../config/auth";
import type { AppEnv } from "../env";
import { GatewayError } from "../errors";
import { bindingAllows } from "../security/address-limit";
import { ACCESS_HEADER, verifyAccessToken } from "./access-jwt";

/** The binding's `simple.period` in wrangler.toml, in seconds: what Retry-After honestly promises. */
export const FAILURE_PERIOD_SEC = 60;
/** The binding's `simple.limit`: failures allowed per address and period. */
export const FAILURE_LIMIT = 10;
/** The key for requests without `CF-Connecting-IP` (local development, tests): they share one budget. */
export const NO_ADDRESS_KEY = "no-client-address";
const MAX_BLOCKED = 10_000;

// Addresses the binding refused, until when (ms). Isolate-wide on purpose: it is the limit, not request state.
const blocked = new Map<string, number>();

async function digest(text: string): Promise<ArrayBuffer> {
  return crypto.subtle.digest("SHA-256", new TextEncoder().encode(text));
}

/** Constant-time string equality. */
export async function secretsEqual(a: string, b: string): Promise<boolean> {
  const [da, db] = await Promise.all([digest(a), digest(b)]);
  return crypto.subtle.timingSafeEqual(da, db);
}

/**
 * The limiter key for a request: Cloudflare's `CF-Connecting-IP` (set by the edge, never the client's),
 * else one fixed key. Client-written headers such as `X-Forwarded-For` are never used: they would let a
 * client pick a fresh budget per request.
 */
export function clientAddressKey(headers: Headers): string {
  return headers.get("cf-connecting-ip") ?? NO_ADDRESS_KEY;
}

/** The seed's 429 shape (`limit`, `window`, `retryAfter`), for the failed-authentication budget. */
function limited(retryAfter: number, reason: string): GatewayError {
  return new GatewayError("RATE_LIMIT_EXCEEDED", {
    details: { limit: FAILURE_LIMIT, window: `${FAILURE_PERIOD_SEC / 60}m`, retryAfter },
    headers: { "Retry-After": String(retryAfter) },
    logReason: reason,
  });
}


function block(key: string, nowMs: number): void {
  if (blocked.size >= MAX_BLOCKED) blocked.delete(blocked.keys().next().value as string);
  blocked.set(key, nowMs + FAILURE_PERIOD_SEC * 1000);
}

/**
 * The admin identity the request proves, or a thrown 401 (UNAUTHORIZED, TOKEN_EXPIRED). A certs endpoint
 * that cannot be reached throws SERVICE_UNAVAILABLE, which is not the client's failure.
 */
async function identify(headers: Headers, auth: AuthConfig): Promise<string> {
  const accessToken = headers.get(ACCESS_HEADER);
  if (accessToken !== null && auth.adminAccess !== null) return verifyAccessToken(accessToken, auth.adminAccess, auth.clockToleranceSec);
  const presented = /^Bearer (\S+)$/.exec(headers.get("authorization") ?? "")?.[1] ?? null;
  const [current, next] = await Promise.all([
    secretsEqual(presented ?? "", auth.adminSecret ?? ""),
    secretsEqual(presented ?? "", auth.adminSecretNext ?? ""),
  ]);
  if (presented !== null && auth.adminSecret !== null && current) return "admin-secret";
  if (presented !== null && auth.adminSecretNext !== null && next) return "admin-secret-next";
  throw new GatewayError("UNAUTHORIZED", { logReason: "admin credential missing or wrong" });
}

export function adminAuth(): MiddlewareHandler<AppEnv> {
  return async function adminAuth(c, next) {
    const auth = c.get("config").auth;
    if (auth.adminSecret === null && auth.adminSecretNext === null && auth.adminAccess === null) {
      throw new GatewayError("NOT_FOUND", { details: null, logReason: "admin API disabled: no ADMIN_SECRET, ADMIN_SECRET_NEXT or Access" });
    }
    const key = clientAddressKey(c.req.raw.headers);
    const nowMs = Date.now();
    const until = blocked.get(key);
    if (until !== undefined && until > nowMs) throw limited(Math.ceil((until - nowMs) / 1000), "admin auth: address limited after failures");
    if (until !== undefined) blocked.delete(key);
    let identity: string;
    try {
      identity = await identify(c.req.raw.headers, auth);
    } catch (err) {
      if (!(err instanceof GatewayError) || err.status !== 401) throw err;
      if (!(await bindingAllows(c.env.ADMIN_AUTH_LIMITER, key))) {
        block(key, nowMs);
        throw limited(FAILURE_PERIOD_SEC, "admin auth: too many failures from this address");
      }
      throw err;
    }
    c.get("log").set({ principalType: "admin", principalId: identity });
    await next();
  };
}
