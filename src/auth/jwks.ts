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

/**
 * A remote key set that survives an outage of its endpoint. jose keeps the last key set that loaded when a
 * reload fails, so that set (however it was loaded: even by a request whose own `kid` did not match) keeps
 * verifying tokens. After a failed fetch the endpoint is left alone for the cooldown, so a hanging endpoint
 * delays one request per cooldown by the fetch timeout instead of delaying every request.
 */
function remoteWithFallback(url: string): JWTVerifyGetKey {
  const remote = createRemoteJWKSet(new URL(url), REMOTE_OPTIONS);
  let fallback: { json: string; resolve: JWTVerifyGetKey } | null = null;
  let failedAtMs = Number.NEGATIVE_INFINITY;
  const lastLoaded = (): JWTVerifyGetKey | null => {
    const loaded = remote.jwks();
    if (loaded === undefined) return null;
    // Rebuilt only when the set changed, so imported keys stay cached across requests.
    const json = JSON.stringify(loaded);
    if (fallback?.json !== json) fallback = { json, resolve: createLocalJWKSet(loaded) };
    return fallback.resolve;
  };
  return async (header, token) => {
    if (Date.now() - failedAtMs < REMOTE_OPTIONS.cooldownDuration) {
      const resolve = lastLoaded();
      if (resolve !== null) return resolve(header, token);
    }
    try {
      return await remote(header, token);
    } catch (err) {
      if (!isJwksFetchFailure(err)) throw err;
      failedAtMs = Date.now();
      const resolve = lastLoaded();
      if (resolve === null) throw err;
      return resolve(header, token);
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
