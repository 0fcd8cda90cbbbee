/**
 * Tokens this isolate has verified, by their text, with the principal they stood for (as Envoy's jwt_authn
 * keeps verified JWTs in its `jwt_cache_config` cache): a token's next request skips the signature check,
 * which is most of a session request's authentication cost. The claims that depend on time are checked
 * again on every use against the same rules jose applied (`exp`, `nbf`, `iat` and the maximum age, with the
 * clock tolerance), and outside them the token goes through full verification again, which answers as it
 * would have (TOKEN_EXPIRED, UNAUTHORIZED). An entry lives at most MAX_LIFE_MS, so a key withdrawn from the key
 * set stops verifying at most that long after the key set stops naming it. Only tokens that verified are
 * kept (made-up tokens cannot fill it), per configuration, bounded. Tokens live in the isolate's memory, as
 * the requests carrying them already do; never stored.
 */
import type { AuthConfig } from "../config/auth";
import type { Principal } from "./principal";

interface Verified {
  principal: Principal;
  /** Accepted from memory while validFromSec <= now (seconds) < validUntilSec, and before diesAtMs. */
  validFromSec: number;
  validUntilSec: number;
  diesAtMs: number;
}

const MAX_LIFE_MS = 60_000;
const MAX_ENTRIES = 10_000;
/** Token text kept at most, per configuration: tokens may be up to 8 KiB, and an isolate has 128 MB. */
const MAX_BYTES = 4 * 1024 * 1024;
interface Memory {
  tokens: Map<string, Verified>;
  bytes: number;
}
const byConfig = new WeakMap<AuthConfig, Memory>();

/** The time claims jose checked, as numbers of seconds (absent ones undefined). */
export interface TimeClaims {
  exp?: number | undefined;
  nbf?: number | undefined;
  iat?: number | undefined;
}

/** jose's clock: whole seconds. */
const epoch = (ms: number) => Math.floor(ms / 1000);

/** The principal of a token verified here before, if its time claims still hold at `nowMs`; else undefined. */
export function knownToken(config: AuthConfig, token: string, nowMs: number): Principal | undefined {
  const entry = byConfig.get(config)?.tokens.get(token);
  if (entry === undefined) return undefined;
  const now = epoch(nowMs);
  if (nowMs >= entry.diesAtMs || now < entry.validFromSec || now >= entry.validUntilSec) return undefined;
  return entry.principal;
}

/**
 * Remembers a token that just verified at `nowMs`. Its window is where jose would accept it again:
 * `nbf` and `iat` no more than the tolerance ahead, `exp` more than the tolerance behind (jose refuses
 * exp <= now - tolerance), and the age since `iat` at most the maximum plus the tolerance.
 */
export function rememberToken(config: AuthConfig, token: string, principal: Principal, claims: TimeClaims, nowMs: number): void {
  const tol = config.clockToleranceSec;
  const from = Math.max(claims.nbf ?? -Infinity, claims.iat ?? -Infinity) - tol;
  const until = Math.min(claims.exp !== undefined ? claims.exp + tol : Infinity, claims.iat !== undefined ? claims.iat + config.maxTokenAgeSec + tol + 1 : Infinity);
  let memory = byConfig.get(config);
  if (memory === undefined) byConfig.set(config, (memory = { tokens: new Map(), bytes: 0 }));
  const known = memory.tokens;
  if (known.delete(token)) memory.bytes -= token.length; // verified again: its new entry goes to the back
  // Oldest first out, until there is room for this one by count and by bytes.
  for (const oldest of known.keys()) {
    if (known.size < MAX_ENTRIES && memory.bytes + token.length <= MAX_BYTES) break;
    known.delete(oldest);
    memory.bytes -= oldest.length;
  }
  memory.bytes += token.length;
  if (principal.type === "user") Object.freeze(principal.permissions);
  known.set(token, { principal: Object.freeze(principal), validFromSec: from, validUntilSec: until, diesAtMs: nowMs + MAX_LIFE_MS });
}
