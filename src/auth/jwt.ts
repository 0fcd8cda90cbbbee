/**
 * User session and customer portal JWTs. Both are verified with jose against the configured key set, with
 * an explicit asymmetric algorithm allow-list, required `iss`/`aud`/`exp`/`iat`/`sub`/`tid`, a small clock
 * tolerance (RFC 7519 §4.1.4 allows "some small leeway") and a maximum token age. The audience and the
 * `token_use` claim must agree on the kind, so one signing key can serve both without a portal token ever
 * passing as a session.
 */
import { errors, jwtVerify, type JWTPayload, type JWTVerifyGetKey } from "jose";
import type { AuthConfig } from "../config/auth";
import { GatewayError } from "../errors";
import { keyResolver } from "./jwks";
import type { Principal } from "./principal";
import { knownToken, rememberToken } from "./verified-tokens";
import { isTenantId } from "../shared/tenant-id";

/** Tokens larger than this are refused before any parsing. */
export const MAX_TOKEN_LENGTH = 8 * 1024;
const EMBEDDED_KEY_HEADERS = ["jwk", "jku", "x5u", "x5c"];
const ID = /^[A-Za-z0-9][A-Za-z0-9._:@|-]{0,127}$/;

function unauthorized(reason: string): GatewayError {
  return new GatewayError("UNAUTHORIZED", { logReason: reason });
}

/**
 * A verification failure as the contract sees it, by jose's error `code`: ERR_JWT_EXPIRED is TOKEN_EXPIRED,
 * every other jose error UNAUTHORIZED. Anything that is not a jose error (a TypeError from a bug in the key
 * resolver, a key the runtime cannot use) is returned as it is, to be thrown on: an exception, logged as
 * one and answered 500, never passed off as a bad token. `kind` names the token in the log reason.
 */
export function mapJoseError(err: unknown, kind = "jwt"): unknown {
  if (err instanceof GatewayError || !(err instanceof errors.JOSEError)) return err;
  const logReason = `${kind}: ${err.code}: ${err.message}`;
  return err.code === "ERR_JWT_EXPIRED" ? new GatewayError("TOKEN_EXPIRED", { logReason }) : unauthorized(logReason);
}

function claimId(payload: JWTPayload, claim: string): string {
  const value = payload[claim];
  if (typeof value !== "string" || !ID.test(value)) throw unauthorized(`jwt: claim ${claim} missing or malformed`);
  return value;
}

function permissionsOf(payload: JWTPayload): string[] {
  const perms = payload.perms ?? [];
  if (!Array.isArray(perms) || perms.length > 256 || perms.some((p) => typeof p !== "string" || p.length > 128)) {
    throw unauthorized("jwt: perms claim malformed");
  }
  return perms as string[];
}

/**
 * Verifies a bearer token and returns the session or portal principal it stands for; a token this isolate
 * verified within the last minute is answered from memory while its time claims hold (verified-tokens.ts).
 */
export async function verifyToken(token: string, config: AuthConfig, now?: Date): Promise<Principal> {
  if (token.length > MAX_TOKEN_LENGTH) throw unauthorized("jwt: token too large");
  const nowMs = now?.getTime() ?? Date.now();
  const known = knownToken(config, token, nowMs);
  if (known !== undefined) return known;
  return verifyAndRead(token, config, now);
}

async function verifyAndRead(token: string, config: AuthConfig, now: Date | undefined): Promise<Principal> {
  const resolve = keyResolver(config.jwks);
  if (resolve === null) throw unauthorized("jwt: no key set configured");
  // A key named by the token itself is never used, and a token that names one is refused (docs/authentication.md): the
  // only keys are the configured set's. jose ignores these headers; refusing them is the gateway's rule.
  const getKey: JWTVerifyGetKey = (header, input) => {
    const embedded = EMBEDDED_KEY_HEADERS.find((name) => Object.hasOwn(header, name));
    if (embedded !== undefined) throw unauthorized(`jwt: embedded ${embedded} header`);
    return resolve(header, input);
  };
  let payload: JWTPayload;
  try {
    ({ payload } = await jwtVerify(token, getKey, {
      issuer: config.issuer,
      audience: [config.sessionAudience, config.portalAudience],
      algorithms: config.algorithms,
      clockTolerance: config.clockToleranceSec,
      maxTokenAge: config.maxTokenAgeSec,
      requiredClaims: ["exp", "iat", "sub", "tid"],
      ...(now !== undefined ? { currentDate: now } : {}),
    }));
  } catch (err) {
    // A GatewayError (a refused header, the key set's 503) passes through as it is, and so does an exception.
    throw mapJoseError(err);
  }
  const audiences = Array.isArray(payload.aud) ? payload.aud : [payload.aud];
  const session = audiences.includes(config.sessionAudience);
  const portal = audiences.includes(config.portalAudience);
  // The tenant id names a Durable Object and KV keys: one grammar, the admin API's (src/shared/tenant-id.ts).
  const tenantId = payload.tid;
  if (!isTenantId(tenantId)) throw unauthorized("jwt: claim tid outside the tenant-id grammar");
  const subject = claimId(payload, "sub");
  let principal: Principal;
  if (session && !portal && payload.token_use === "session") principal = { type: "user", tenantId, userId: subject, permissions: permissionsOf(payload) };
  else if (portal && !session && payload.token_use === "portal") principal = { type: "portal", tenantId, subject, customerId: claimId(payload, "cid") };
  else throw unauthorized("jwt: audience and token_use disagree or are ambiguous");
  rememberToken(config, token, principal, payload, now?.getTime() ?? Date.now());
  return principal;
}
