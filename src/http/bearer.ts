/**
 * The one reader of `Authorization: Bearer <token>` (RFC 6750 §2.1). The auth scheme is case-insensitive
 * (RFC 9110 §11.1), so `bearer` and `BEARER` are Bearer too; one or more spaces separate it from the token,
 * and the token is one run of non-space characters. Both the gateway's credential detection and the admin
 * secret read it here, so a header is never a token to one and not to the other.
 */

const BEARER = /^Bearer +(\S+) *$/i;

/** The token of a Bearer Authorization value; null for an absent header or any other scheme or shape. */
export function bearerToken(authorization: string | null): string | null {
  if (authorization === null) return null;
  return BEARER.exec(authorization)?.[1] ?? null;
}
