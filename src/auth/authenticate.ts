/**
 * Authentication: exactly one credential, verified, becomes the request's principal. Every failure is
 * 401 with the same generic body (an unknown, expired, revoked or malformed key is indistinguishable to
 * the caller); only the log says which.
 */
import type { MiddlewareHandler } from "hono";
import type { AuthConfig } from "../config/auth";
import type { AppEnv } from "../env";
import { GatewayError } from "../errors";
import { queryOf } from "../http/query";
import { refuse } from "../ops/refuse";
import { lookupAddress, unknownKeyLimit } from "../security/address-limit";
import { extractCredential } from "./credentials";
import { isWellFormedKey } from "./integration-key";
import { verifyToken } from "./jwt";
import { hashKey, isUsable } from "./key-record";
import { cachedKey, keyNow, lookUpKey } from "./key-store";
import { principalId, type Principal } from "./principal";
import { isKnownRevoked } from "./revoked-keys";
import type { RequestLog } from "../ops/request-log";
import { remember } from "../shared/bounded-map";

/**
 * Key -> its SHA-256 (hex) for keys that authenticated in this isolate, so a key's next request skips the
 * checksum and the digest (bench: the digest and its hex were ~4% of the key path's CPU). Only keys whose
 * record was found and usable are kept, so made-up keys cannot fill it, and it is bounded. It changes no
 * decision: the record is still found by hash on every request (isolate cache with its TTL, expiry,
 * revocation). It holds keys in the isolate's memory, as the requests carrying them already do; never stored.
 */
const knownHashes = new Map<string, string>();
const MAX_KNOWN_HASHES = 10_000;

/**
 * The principal for an integration key. A key failing its checksum is refused without a storage lookup; a
 * key this isolate has cached costs no I/O; any other key is looked up (KV, then the directory) unless its
 * client address is over its budget of unknown keys, and an unknown key is counted against that budget.
 */
async function authenticateKey(env: Env, key: string, headers: Headers, auth: AuthConfig, log: RequestLog): Promise<Principal> {
  let hash = knownHashes.get(key);
  const known = hash !== undefined;
  if (hash === undefined) {
    if (!isWellFormedKey(key)) throw new GatewayError("UNAUTHORIZED", { logReason: "integration key malformed or checksum mismatch" });
    hash = await hashKey(key);
  }
  const nowMs = keyNow();
  let record = cachedKey(hash, nowMs);
  if (record !== undefined) log.auth({ keySource: "isolate" });
  else {
    const address = lookupAddress(headers);
    unknownKeyLimit.refuseIfLimited(address, nowMs);
    const found = await lookUpKey({ kv: env.KEYS, directory: env.KEY_DIRECTORY, kvTimeoutMs: auth.keyKvTimeoutMs, directoryTimeoutMs: auth.keyDirectoryTimeoutMs }, hash, nowMs);
    record = found.record;
    log.auth({ keySource: found.source });
    if (record === null) await unknownKeyLimit.countFailure(env.AUTH_FAILURE_LIMITER, address, nowMs, auth.failureLimiterTimeoutMs);
  }
  if (record === null) throw new GatewayError("UNAUTHORIZED", { logReason: "integration key unknown" });
  if (!isUsable(record, keyNow()) || isKnownRevoked(record.tenantId, record.keyId)) throw new GatewayError("UNAUTHORIZED", { logReason: `integration key ${record.keyId} revoked, expired or past its grace period` });
  if (!known) remember(knownHashes, MAX_KNOWN_HASHES, key, hash);
  return { type: "key", tenantId: record.tenantId, keyId: record.keyId, access: record.access };
}

/** The refusal of a request without a credential, the usual 401: one object, never changed (src/ops/refuse.ts). */
const NO_CREDENTIAL = new GatewayError("UNAUTHORIZED", { logReason: "no credential" });

export function authenticate(): MiddlewareHandler<AppEnv> {
  return async function authenticate(c, next) {
    const config = c.get("config");
    const log = c.get("log");
    const credential = extractCredential(c.req.raw.headers, queryOf(c.get("url")), config.auth.sessionCookie);
    if (credential.kind === "none") return refuse(c, NO_CREDENTIAL);
    const started = Date.now();
    let principal: Principal;
    try {
      principal = credential.kind === "key" ? await authenticateKey(c.env, credential.key, c.req.raw.headers, config.auth, log) : await verifyToken(credential.token, config.auth);
    } finally {
      log.auth({ authMs: Date.now() - started });
    }
    c.set("principal", principal);
    log.principal({ tenant: principal.tenantId, principalType: principal.type, principalId: principalId(principal) });
    await next();
  };
}
