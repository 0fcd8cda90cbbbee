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
 * is never told apart from a wrong one while the address is limited (the one rule for failure budgets:
 * src/security/address-limit.ts).
 */
import type { MiddlewareHandler } from "hono";
import type { AuthConfig } from "../config/auth";
import type { AppEnv } from "../env";
import { GatewayError } from "../errors";
import { bearerToken } from "../http/bearer";
import { addressLimit, lookupAddress } from "../security/address-limit";
import { sha256 } from "../shared/sha256";
import { ACCESS_HEADER, verifyAccessToken } from "./access-jwt";

/** ADMIN_AUTH_LIMITER's `simple.limit` and `simple.period` in wrangler.toml: failures per address and period. */
const failedAdminAuth = addressLimit(10, 60, "admin auth");

/** Constant-time string equality. */
async function secretsEqual(a: string, b: string): Promise<boolean> {
  const [da, db] = await Promise.all([sha256(a), sha256(b)]);
  return crypto.subtle.timingSafeEqual(da, db);
}

/**
 * The admin identity the request proves, or a thrown 401 (UNAUTHORIZED, TOKEN_EXPIRED). A certs endpoint
 * that cannot be reached throws SERVICE_UNAVAILABLE, which is not the client's failure.
 */
async function identify(headers: Headers, auth: AuthConfig): Promise<string> {
  const accessToken = headers.get(ACCESS_HEADER);
  if (accessToken !== null && auth.adminAccess !== null) return verifyAccessToken(accessToken, auth.adminAccess, auth.clockToleranceSec);
  const presented = bearerToken(headers.get("authorization"));
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
    const address = lookupAddress(c.req.raw.headers);
    const nowMs = Date.now();
    failedAdminAuth.refuseIfLimited(address, nowMs);
    let identity: string;
    try {
      identity = await identify(c.req.raw.headers, auth);
    } catch (err) {
      if (err instanceof GatewayError && err.status === 401) await failedAdminAuth.countFailure(c.env.ADMIN_AUTH_LIMITER, address, nowMs, auth.failureLimiterTimeoutMs);
      throw err;
    }
    c.set("adminActor", identity);
    c.get("log").principal({ principalType: "admin", principalId: identity });
    await next();
  };
}
