/**
 * Unauthenticated floods: per client address, well-formed integration keys that neither KV nor the key
 * directory knows (each cost a KV read and a directory call) are counted with the Workers Rate Limiting
 * binding `AUTH_FAILURE_LIMITER` (wrangler.toml: FAILURE_LIMIT per FAILURE_PERIOD_SEC). Once it refuses,
 * the address is refused in this isolate for the period *before* any lookup: 429 RATE_LIMIT_EXCEEDED with
 * Retry-After. Nothing else calls the binding: a key found in the isolate's cache, a confirmed miss served
 * from the miss cache, a key failing its checksum, and every valid key cost no binding call. No tenant is
 * charged: the request never had one.
 */
import { GatewayError } from "../errors";

/** The binding's `simple.period` in wrangler.toml, in seconds: what Retry-After honestly promises. */
export const FAILURE_PERIOD_SEC = 60;
/** The binding's `simple.limit`: unknown-key lookups allowed per address and period. */
export const FAILURE_LIMIT = 5;
/** The key for requests without `CF-Connecting-IP` (local development, tests): they share one budget. */
export const NO_ADDRESS_KEY = "no-client-address";
const LIMITER_TIMEOUT_MS = 1000;
const MAX_BLOCKED = 10_000;

// Addresses the binding refused, until when (ms). Isolate-wide on purpose: it is the limit, not request state.
const blocked = new Map<string, number>();

/** The limiter key: Cloudflare's `CF-Connecting-IP` (set by the edge, never by the client), else one fixed key. */
export function lookupAddress(headers: Headers): string {
  return headers.get("cf-connecting-ip") ?? NO_ADDRESS_KEY;
}

function limited(retryAfter: number, reason: string): GatewayError {
  return new GatewayError("RATE_LIMIT_EXCEEDED", {
    details: { limit: FAILURE_LIMIT, window: `${FAILURE_PERIOD_SEC / 60}m`, retryAfter },
    headers: { "Retry-After": String(retryAfter) },
    logReason: reason,
  });
}

/** Throws the 429 while `address` is blocked in this isolate: called before a lookup that would cost I/O. */
export function refuseIfLimited(address: string, nowMs: number): void {
  const until = blocked.get(address);
  if (until === undefined) return;
  if (until > nowMs) throw limited(Math.ceil((until - nowMs) / 1000), "unknown-key lookups: address limited");
  blocked.delete(address);
}

/** Counts one unknown-key lookup; throws the 429 (and blocks the address) when the binding refuses, errs or is slow. */
export async function countUnknownKey(limiter: RateLimit, address: string, nowMs: number): Promise<void> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const deadline = new Promise<boolean>((resolve) => {
    timer = setTimeout(() => resolve(false), LIMITER_TIMEOUT_MS);
  });
  let allowed: boolean;
  try {
    allowed = await Promise.race([limiter.limit({ key: address }).then((o) => o.success), deadline]);
  } catch {
    allowed = false;
  } finally {
    if (timer !== undefined) clearTimeout(timer);
  }
  if (allowed) return;
  if (blocked.size >= MAX_BLOCKED) blocked.delete(blocked.keys().next().value as string);
  blocked.set(address, nowMs + FAILURE_PERIOD_SEC * 1000);
  throw limited(FAILURE_PERIOD_SEC, "unknown-key lookups: too many from this address");
}
