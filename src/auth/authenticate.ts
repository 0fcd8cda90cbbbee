/**
 * Authentication: exactly one credential, verified, becomes the request's principal. Every failure is
 * 401 with the same generic body (an unknown, expired, revoked or malformed key is indistinguishable to
 * the caller); only the log says which.
 */
import type { MiddlewareHandler } from "hono";
import type { AppEnv } from "../env";
import { GatewayError } from "../errors";
import { extractCredential } from "./credentials";
import { hashKey, isWellFormedKey } from "./integration-key";
import { verifyToken } from "./jwt";
import { findKey, isUsable } from "./key-store";
import { principalId, type Principal } from "./principal";
import { isKnownRevoked } from "./revoked-keys";

/** The principal for an integration key. A key failing its checksum is refused without a storage lookup. */
export async function authenticateKey(kv: KVNamespace, key: string): Promise<Principal> {
  if (!isWellFormedKey(key)) throw new GatewayError("UNAUTHORIZED", { logReason: "integration key malformed or checksum mismatch" });
  const record = await findKey(kv, await hashKey(key));
  if (record === null) throw new GatewayError("UNAUTHORIZED", { logReason: "integration key unknown" });
  if (!isUsable(record) || isKnownRevoked(record.tenantId, record.keyId)) throw new GatewayError("UNAUTHORIZED", { logReason: `integration key ${record.keyId} revoked or expired` });
  return { type: "key", tenantId: record.tenantId, keyId: record.keyId, access: record.access };
}

export function authenticate(): MiddlewareHandler<AppEnv> {
  return async function authenticate(c, next) {
    const config = c.get("config");
    const log = c.get("log");
    const credential = extractCredential(c.req.raw.headers, c.get("url").searchParams, config.auth.sessionCookie);
    if (credential.kind === "none") throw new GatewayError("UNAUTHORIZED", { logReason: "no credential" });
    const principal = credential.kind === "key" ? await authenticateKey(c.env.KEYS, credential.key) : await verifyToken(credential.token, config.auth);
    c.set("principal", principal);
    log.set({ tenant: principal.tenantId, principalType: principal.type, principalId: principalId(principal) });
    await next();
  };
}
