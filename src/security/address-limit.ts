/**
 * Per-address failure budgets with the Workers Rate Limiting binding: only failures call the binding, and
 * once it refuses, the address is refused in this isolate for the period *before* the costly step is
 * tried again, with 429 RATE_LIMIT_EXCEEDED and a Retry-After the period honestly bounds. A binding that errs
 * or takes longer than the caller's deadline (AUTH_LIMITER_TIMEOUT_MS, 1 s) counts as a refusal: the budget
 * fails closed, as an unmetered failure path is what a flood would look for. (src/admin/admin-auth.ts holds one for admin secrets.)
 *
 * `unknownKeyLimit` is the one for integration keys: well-formed keys that neither KV nor the key directory
 * knows (each costs a KV read and a directory call), counted per client address with
 * `AUTH_FAILURE_LIMITER` (wrangler.toml: 5 per 60 s). A key found in the isolate's cache, a confirmed miss
 * served from the miss cache, a key failing its checksum and every valid key cost no binding call; no tenant
 * is charged, since the request never had one.
 */
import { GatewayError } from "../errors";
import { withDeadline } from "../shared/with-deadline";

/** The key for requests without `CF-Connecting-IP` (local development, tests): they share one budget. */
const NO_ADDRESS_KEY = "no-client-address";
const MAX_BLOCKED_ADDRESSES = 10_000;

/** The limiter key: Cloudflare's `CF-Connecting-IP` (set by the edge, never by the client), else one fixed key. */
export function lookupAddress(headers: Headers): string {
  return headers.get("cf-connecting-ip") ?? NO_ADDRESS_KEY;
}

export interface AddressLimit {
  /** The binding's `simple.limit` and `simple.period` (seconds) in wrangler.toml. */
  readonly limit: number;
  readonly periodSec: number;
  /** Throws the 429 while `address` is blocked in this isolate. */
  refuseIfLimited(address: string, nowMs: number): void;
  /** Counts one failure; throws the 429 (and blocks the address) when the binding refuses or is not back within `timeoutMs`. */
  countFailure(binding: RateLimit, address: string, nowMs: number, timeoutMs: number): Promise<void>;
}

/** Counts one failure for `key`; true while the binding still allows it. A slow or failing binding counts as a refusal. */
async function bindingAllows(binding: RateLimit, key: string, timeoutMs: number): Promise<boolean> {
  try {
    return (await withDeadline(binding.limit({ key }), timeoutMs)).success;
  } catch {
    return false;
  }
}

/** A failure budget of `limit` per `periodSec` per address; `what` names it in the log. */
export function addressLimit(limit: number, periodSec: number, what: string): AddressLimit {
  // Addresses the binding refused, until when (ms). Isolate-wide on purpose: it is the limit, not request state.
  const blockedUntil = new Map<string, number>();
  const tooMany = (retryAfter: number, reason: string) =>
    new GatewayError("RATE_LIMIT_EXCEEDED", { details: { limit, window: `${periodSec / 60}m`, retryAfter }, headers: { "Retry-After": String(retryAfter) }, logReason: `${what}: ${reason}` });
  return {
    limit,
    periodSec,
    refuseIfLimited(address, nowMs) {
      const until = blockedUntil.get(address);
      if (until === undefined) return;
      if (until > nowMs) throw tooMany(Math.ceil((until - nowMs) / 1000), "address limited");
      blockedUntil.delete(address);
    },
    async countFailure(binding, address, nowMs, timeoutMs) {
      if (await bindingAllows(binding, address, timeoutMs)) return;
      if (blockedUntil.size >= MAX_BLOCKED_ADDRESSES) blockedUntil.delete(blockedUntil.keys().next().value as string);
      blockedUntil.set(address, nowMs + periodSec * 1000);
      throw tooMany(periodSec, "too many from this address");
    },
  };
}

/** Unknown integration keys per client address: AUTH_FAILURE_LIMITER's 5 per 60 s. */
export const unknownKeyLimit = addressLimit(5, 60, "unknown-key lookups");
