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

/** Dotted IPv4 as four numbers 0-255 with no leading zeros (so one address has one spelling), else null. */
function ipv4(text: string): string | null {
  const parts = text.split(".");
  if (parts.length !== 4 || parts.some((p) => !/^(0|[1-9][0-9]{0,2})$/.test(p) || Number(p) > 255)) return null;
  return parts.join(".");
}

/** One side of `::` as 16-bit groups; the last group may be dotted IPv4 (two groups) when `v4Tail`. */
function groupsOf(text: string, v4Tail: boolean): number[] | null {
  if (text === "") return [];
  const out: number[] = [];
  const fields = text.split(":");
  for (const [i, field] of fields.entries()) {
    if (v4Tail && i === fields.length - 1 && field.includes(".")) {
      const v4 = ipv4(field);
      if (v4 === null) return null;
      const [a, b, c, d] = v4.split(".").map(Number) as [number, number, number, number];
      out.push(a * 256 + b, c * 256 + d);
    } else if (/^[0-9a-f]{1,4}$/i.test(field)) out.push(parseInt(field, 16));
    else return null;
  }
  return out;
}

/** An IPv6 address (RFC 4291 §2.2 text forms) as its eight 16-bit groups, else null. */
function ipv6(text: string): number[] | null {
  const halves = text.split("::");
  if (halves.length > 2) return null;
  const left = groupsOf(halves[0] ?? "", halves.length === 1);
  const right = halves.length === 2 ? groupsOf(halves[1] ?? "", true) : [];
  if (left === null || right === null) return null;
  if (halves.length === 1) return left.length === 8 ? left : null;
  const missing = 8 - left.length - right.length;
  return missing < 1 ? null : [...left, ...Array<number>(missing).fill(0), ...right];
}

/**
 * The budget an address is counted against: an IPv4 address itself; an IPv6 address its /64, written
 * `2001:db8:1:2::/64`. A /64 is the smallest block a network gives a subscriber (SLAAC needs one, RFC 7421),
 * so one client can rotate through 2^64 addresses of it, but not out of it; a wider prefix (/56, /48) would
 * make customers of one provider share a budget. An IPv4-mapped IPv6 address counts as its IPv4 address.
 * A value that is no address at all (never from Cloudflare's edge) is its own budget, kept apart by a prefix.
 */
export function addressBudget(address: string): string {
  const v4 = ipv4(address);
  if (v4 !== null) return v4;
  const groups = ipv6(address);
  if (groups === null) return `unparsed:${address.slice(0, 64)}`;
  if (groups.slice(0, 5).every((g) => g === 0) && groups[5] === 0xffff) return [groups[6] ?? 0, groups[7] ?? 0].flatMap((g) => [g >> 8, g & 0xff]).join(".");
  return `${groups.slice(0, 4).map((g) => g.toString(16)).join(":")}::/64`;
}

/** The limiter key: the budget of Cloudflare's `CF-Connecting-IP` (set by the edge, never by the client), else one fixed key. */
export function lookupAddress(headers: Headers): string {
  const address = headers.get("cf-connecting-ip");
  return address === null ? NO_ADDRESS_KEY : addressBudget(address.trim());
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
