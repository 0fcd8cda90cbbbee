/**
 * Key resolution for JWT verification. A remote JWKS is one module-scope key set per URL and settings
 * (shared by every request in the isolate, as a jose local key set, so imported keys stay cached):
 *
 * - it is refreshed when older than the cache age, and on an unknown `kid` at most once per cooldown;
 * - when the endpoint fails, the last set that loaded keeps verifying, but only up to `maxStaleMs` after
 *   that load: a key the provider withdrew during an outage is not trusted forever;
 * - after any failed fetch — also before any set ever loaded — the endpoint is left alone for the
 *   cooldown, and a request that needs it is answered at once (503 + Retry-After, or the stale set), so an
 *   outage costs one fetch deadline per cooldown, not one per request.
 *
 * Only the fetch is I/O; every wait on it has the configured deadline (`timeoutMs`), body included.
 */
import { createLocalJWKSet, errors, type JSONWebKeySet, type JWTVerifyGetKey } from "jose";
import type { JwksSource } from "../config/auth";
import { GatewayError } from "../errors";

export const JWKS_COOLDOWN_MS = 30_000;
export const JWKS_CACHE_MAX_AGE_MS = 10 * 60_000;

type Remote = Extract<JwksSource, { kind: "remote" }>;

interface RemoteState {
  set: { resolve: JWTVerifyGetKey; loadedAtMs: number } | null;
  failedAtMs: number;
}

const remoteSets = new Map<string, JWTVerifyGetKey>();
const staticSets = new WeakMap<object, JWTVerifyGetKey>();

/** The identity provider's outage as the contract's 503; Retry-After is what is left of the cooldown. */
function unavailable(state: RemoteState, nowMs: number, reason: string): GatewayError {
  const retryAfter = Math.max(1, Math.ceil((state.failedAtMs + JWKS_COOLDOWN_MS - nowMs) / 1000));
  return new GatewayError("SERVICE_UNAVAILABLE", { details: null, headers: { "Retry-After": String(retryAfter) }, logReason: `jwks unavailable: ${reason}` });
}

/** Fetches and parses the key set within the deadline; throws on any failure (network, status, body). */
async function fetchKeySet(source: Remote): Promise<JWTVerifyGetKey> {
  // A timer of our own, cleared once the set is read (AbortSignal.timeout's stays pending until it fires:
  // src/shared/with-deadline.ts), and one the tests can fire by hand.
  const abort = new AbortController();
  const timer = setTimeout(() => abort.abort(new Error(`no key set within ${source.timeoutMs} ms`)), source.timeoutMs);
  try {
    // `redirect: "manual"`: a redirect is not a key set (and never leads the gateway elsewhere).
    const res = await fetch(source.url, { signal: abort.signal, redirect: "manual", headers: { accept: "application/jwk-set+json, application/json" } });
    if (res.status !== 200) {
      await res.body?.cancel();
      throw new Error(`JWKS endpoint answered ${res.status}`);
    }
    // The body read is under the same signal, so a stalled body ends at the deadline too.
    const json = (await res.json()) as JSONWebKeySet;
    return createLocalJWKSet(json); // throws on anything that is not a JWK Set
  } finally {
    clearTimeout(timer);
  }
}

function remoteResolver(source: Remote): JWTVerifyGetKey {
  const state: RemoteState = { set: null, failedAtMs: Number.NEGATIVE_INFINITY };
  const usableSet = (nowMs: number) => (state.set !== null && nowMs - state.set.loadedAtMs <= source.maxStaleMs ? state.set.resolve : null);
  /** A fresh set, or the stale one within its bound, or a 503; fetches only outside the cooldown. */
  const refresh = async (nowMs: number): Promise<JWTVerifyGetKey> => {
    if (nowMs - state.failedAtMs < JWKS_COOLDOWN_MS) {
      const stale = usableSet(nowMs);
      if (stale === null) throw unavailable(state, nowMs, "endpoint in cooldown after a failed fetch");
      return stale;
    }
    try {
      const resolve = await fetchKeySet(source);
      state.set = { resolve, loadedAtMs: Date.now() };
      return resolve;
    } catch (err) {
      const failedAt = Date.now();
      state.failedAtMs = failedAt;
      const stale = usableSet(failedAt);
      if (stale === null) throw unavailable(state, failedAt, String(err));
      return stale;
    }
  };
  return async (header, token) => {
    const nowMs = Date.now();
    const fresh = state.set !== null && nowMs - state.set.loadedAtMs < JWKS_CACHE_MAX_AGE_MS;
    const resolve = fresh && state.set !== null ? state.set.resolve : await refresh(nowMs);
    try {
      return await resolve(header, token);
    } catch (err) {
      // An unknown kid may be a rotated-in key: refetch, at most once per cooldown since the last fetch.
      const lastFetchMs = Math.max(state.set?.loadedAtMs ?? Number.NEGATIVE_INFINITY, state.failedAtMs);
      if (!(err instanceof errors.JWKSNoMatchingKey) || nowMs - lastFetchMs < JWKS_COOLDOWN_MS) throw err;
      const next = await refresh(nowMs);
      return next(header, token);
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
  const cacheKey = `${source.url} ${source.timeoutMs} ${source.maxStaleMs}`;
  let set = remoteSets.get(cacheKey);
  if (set === undefined) remoteSets.set(cacheKey, (set = remoteResolver(source)));
  return set;
}
