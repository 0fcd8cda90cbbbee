/**
 * Cloudflare Access as the admin identity in deployments: Access puts its application token in the
 * `Cf-Access-Jwt-Assertion` header of every request it lets through; the gateway verifies it itself
 * (signature against the team's certs, issuer = the team domain, audience = the application's AUD tag,
 * expiry) rather than trusting that the request came through Access. Cloudflare's guidance:
 * developers.cloudflare.com/cloudflare-one/identity/authorization-cookie/validating-json/.
 */
import { jwtVerify } from "jose";
import type { AdminAccess } from "../config/auth";
import { GatewayError } from "../errors";
import { keyResolver } from "../auth/jwks";
import { mapJoseError } from "../auth/jwt";
import { isDisplaySafe } from "./input";

export const ACCESS_HEADER = "cf-access-jwt-assertion";
const MAX_TOKEN_CHARS = 8192;

/**
 * The Access identity of a verified token: `access:<email>` for a person, `access:<common_name>` for a
 * service token, else `access:<sub>`. Throws UNAUTHORIZED (TOKEN_EXPIRED when expired) for any token that
 * does not verify; a certs endpoint that cannot be reached is SERVICE_UNAVAILABLE (from the key resolver).
 */
export async function verifyAccessToken(token: string, access: AdminAccess, clockToleranceSec: number): Promise<string> {
  const resolver = keyResolver(access.certs);
  if (resolver === null || token.length > MAX_TOKEN_CHARS) throw new GatewayError("UNAUTHORIZED", { logReason: "access token refused before verification" });
  let payload;
  try {
    // Access signs with RS256 only; an allow-list of one keeps `alg` confusion out.
    ({ payload } = await jwtVerify(token, resolver, { issuer: access.issuer, audience: access.audiences, algorithms: ["RS256"], clockTolerance: clockToleranceSec, requiredClaims: ["exp", "iat"] }));
  } catch (err) {
    // One mapping for every JWT: by jose's code; anything else (an unusable key) is an exception, not a 401.
    throw mapJoseError(err, "access token");
  }
  const name = [payload.email, payload.common_name, payload.sub].find((n) => isDisplaySafe(n, 200));
  if (name === undefined) throw new GatewayError("UNAUTHORIZED", { logReason: "access token without a usable email, common_name or sub" });
  return `access:${name as string}`;
}
