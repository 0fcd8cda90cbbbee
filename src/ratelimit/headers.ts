/**
 * The rate-limit fields of draft-ietf-httpapi-ratelimit-headers-11 (`t`: seconds until `r` next grows, which
 * is when the oldest counted bucket leaves the span) and the seed's 429. Pure.
 *   RateLimit-Policy: "default";q=100;w=60
 *   RateLimit: "default";r=42;t=18
 */
import { GatewayError } from "../errors";
import { formatWindow, type Policy } from "../shared/policy";
import type { PolicyState } from "./sliding-window";

/** Whole seconds from now to `atMs`, rounded up so a client that waits that long is never early. */
export function secondsUntil(atMs: number, nowMs: number): number {
  return Math.max(0, Math.ceil((atMs - nowMs) / 1000));
}

/** Whole seconds until a state's `r` next grows: the RateLimit field's `t`, the limits views' `resetSeconds`. */
export function secondsToReset(state: PolicyState, nowMs: number): number {
  return secondsUntil(state.retryAtMs ?? state.resetMs, nowMs);
}

/** A policy's name as a client sees it: a key's own policies are `key:<name>`, beside the tenant's. */
function policyLabel(policy: Policy): string {
  return policy.scope === "key" ? `key:${policy.name}` : policy.name;
}

/** The fields for the enforced policies; a shadow policy adds nothing to what a client sees. */
export function rateLimitHeaders(all: readonly PolicyState[], nowMs: number): Record<string, string> {
  const states = all.filter((s) => s.policy.mode !== "shadow");
  if (states.length === 0) return {};
  return {
    "RateLimit-Policy": states.map((s) => `"${policyLabel(s.policy)}";q=${s.policy.limit};w=${s.policy.windowSec}`).join(", "),
    RateLimit: states
      .map((s) => `"${policyLabel(s.policy)}";r=${s.retryAtMs !== null ? 0 : s.remaining};t=${secondsToReset(s, nowMs)}`)
      .join(", "),
  };
}

/**
 * The last 429 built for each refusing policy state, with what its time-dependent parts were. The deny cache
 * answers every request with the same state objects (a state is never changed once the limiter stated it:
 * a new answer brings new ones), so a 429 for the same states, deny-cache flag, `Retry-After` and RateLimit
 * `t` values says the same thing, and one immutable GatewayError answers them all (its envelope JSON and
 * header set made once: errors.ts). Checking that costs a few numbers, not the header strings and a key built
 * from them per refused request (callgrind, issue 21). Held only while the state is (a WeakMap).
 */
interface Built {
  states: readonly PolicyState[];
  cached: boolean;
  retryAfter: number;
  /** Each state's `t` (rateLimitHeaders), in order. */
  resetIn: number[];
  refusal: GatewayError;
}
const lastBuilt = new WeakMap<PolicyState, Built>();

/** Whether `built` says what a 429 for these inputs would (an empty list of states: none shown, either way). */
function saysTheSame(built: Built, states: readonly PolicyState[], cached: boolean, retryAfter: number, nowMs: number): boolean {
  if (built.cached !== cached || built.retryAfter !== retryAfter) return false;
  if (built.states !== states && (built.states.length > 0 || states.length > 0)) return false;
  for (let i = 0; i < states.length; i++) {
    const s = states[i] as PolicyState;
    if (built.resetIn[i] !== secondsToReset(s, nowMs)) return false;
  }
  return true;
}

/**
 * The seed's 429: `details: { limit, window, retryAfter }` and a `Retry-After` with the same seconds, plus
 * the policy that decided and its scope (`tenant` or `key`). `cached`: the refusal came from this isolate's
 * deny cache, not from the limiter just now; the log reason says so.
 */
export function rateLimitExceeded(violated: PolicyState, states: readonly PolicyState[], nowMs: number, cached = false): GatewayError {
  const retryAfter = Math.max(1, secondsUntil(violated.retryAtMs ?? nowMs, nowMs));
  const known = lastBuilt.get(violated);
  if (known !== undefined && saysTheSame(known, states, cached, retryAfter, nowMs)) return known.refusal;
  const headers: Record<string, string> = { ...rateLimitHeaders(states, nowMs), "Retry-After": String(retryAfter) };
  const { policy } = violated;
  const scope = policy.scope ?? "tenant";
  const refusal = new GatewayError("RATE_LIMIT_EXCEEDED", {
    details: { limit: policy.limit, window: formatWindow(policy.windowSec), retryAfter, policy: policy.name, scope },
    headers,
    logReason: `policy ${policyLabel(policy)} exhausted${cached ? " (deny cache: the limiter's last refusal, not asked again)" : ""}`,
  });
  lastBuilt.set(violated, { states, cached, retryAfter, resetIn: states.map((s) => secondsToReset(s, nowMs)), refusal });
  return refusal;
}
