/**
 * Key resolution for JWT verification. A remote JWKS is one module-scope key set per URL (shared by every
 * request in the isolate): jose refetches it on an unknown `kid`, at most once per cooldown. When the JWKS
 * endpoint fails, the last key set that loaded keeps verifying tokens, so an outage of the identity
 * provider does not log everyone out.
 */
import { createLocalJWKSet, createRemoteJWKSet, type JWTVerifyGetKey } from "jose";
import type { JwksSource } from "../config/auth";

const REMOTE_OPTIONS = { cooldownDuration: 30_000, cacheMaxAge: 10 * 60_000, timeoutDuration: 3_000 };
const remoteSets = new Map<string, JWTVerifyGetKey>();
const staticSets = new WeakMap<object, JWTVerifyGetKey>();

/**
 * True for a failure to reach or read the JWKS endpoint (network error without a jose code, timeout,
 * non-200, unparsable body), as opposed to a token that matches no key or fails verification.
 */
export function isJwksFetchFailure(err: unknown): boolean {
  const code = (err as { code?: unknown } | null)?.code;
  return code === undefined || code === "ERR_JWKS_TIMEOUT" || code === "ERR_JOSE_GENERIC" || code === "ERR_JWKS_INVALID";
}

function remoteWithFallback(url: string): JWTVerifyGetKey {
  const remote = createRemoteJWKSet(new URL(url), REMOTE_OPTIONS);
  let lastGood: JWTVerifyGetKey | null = null;
  return async (header, token) => {
    try {
      const key = await remote(header, token);
      const loaded = remote.jwks();
      if (loaded !== undefined) lastGood = createLocalJWKSet(loaded);
      return key;
    } catch (err) {
      if (lastGood !== null && isJwksFetchFailure(err)) return lastGood(header, token);
      throw err;
    }
  };
}

/** The key resolver for a configured source; null when JWT authentication is not configured. */
export function keyResolver(source: JwksSource): JWTVerifyGetKey | null {
  if (source.kind === "none") return null;
  if (source.kind === "static") {
    let set = staticSets.get(source.jwks);
    if (set === undefined) staticSets.set(source.jwks, (set = createLocalJWKSet(source.jwks)));
    return set;
  }
  let set = remoteSets.get(source.url);
  if (set === undefined) remoteSets.set(source.url, (set = remoteWithFallback(source.url)));
  return set;
}
