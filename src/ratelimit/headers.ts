/**
 * The rate-limit fields of draft-ietf-httpapi-ratelimit-headers-11 (`t`: seconds until `r` next grows, which
 * is when the oldest counted bucket leaves the span) and the seed's 429. Pure.
 *   RateLimit-Policy: "default";q=100;w=60
 *   RateLimit: "default";r=42;t=18
 */
import { GatewayError } from "../errors";
import { remember } from "../shared/bounded-map";
import { formatWindow, type Policy } from "../shared/policy";
import type { PolicyState } from "./sliding-window";

/** Whole seconds from now to `atMs`, rounded up so a client that waits that long is never early. */
export function secondsUntil(atMs: number, nowMs: number): number {
  return Math.max(0, Math.ceil((atMs - nowMs) / 1000));
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
      .map((s) => `"${policyLabel(s.policy)}";r=${s.retryAtMs !== null ? 0 : s.remaining};t=${secondsUntil(s.retryAtMs ?? s.resetMs, nowMs)}`)
      .join(", "),
  };
}

/**
 * 429s already built, by everything they say. A refusal is an immutable GatewayError, so one object answers
 * each request told the same thing (its envelope JSON written once: errors.ts), rather than a new error,
 * details, headers and JSON per refused request (issue 21). Bounded.
 */
const recentRefusals = new Map<string, GatewayError>();
const MAX_RECENT_REFUSALS = 256;

/**
 * The seed's 429: `details: { limit, window, retryAfter }` and a `Retry-After` with the same seconds, plus
 * the policy that decided and its scope (`tenant` or `key`). `cached`: the refusal came from this isolate's
 * deny cache, not from the limiter just now; the log reason says so.
 */
export function rateLimitExceeded(violated: PolicyState, states: readonly PolicyState[], nowMs: number, cached = false): GatewayError {
  const retryAfter = Math.max(1, secondsUntil(violated.retryAtMs ?? nowMs, nowMs));
  const headers: Record<string, string> = { ...rateLimitHeaders(states, nowMs), "Retry-After": String(retryAfter) };
  const { policy } = violated;
  const scope = policy.scope ?? "tenant";
  // Everything the refusal says, in one line per field (no field holds a line break: names are validated,
  // header values cannot): a tenant over its limit is told the same thing for a second at a time.
  const key = `${scope}\n${policy.name}\n${policy.limit}\n${policy.windowSec}\n${cached}\n${headers["RateLimit-Policy"] ?? ""}\n${headers.RateLimit ?? ""}\n${retryAfter}`;
  const known = recentRefusals.get(key);
  if (known !== undefined) return known;
  const refusal = new GatewayError("RATE_LIMIT_EXCEEDED", {
    details: { limit: policy.limit, window: formatWindow(policy.windowSec), retryAfter, policy: policy.name, scope },
    headers,
    logReason: `policy ${policyLabel(policy)} exhausted${cached ? " (deny cache: the limiter's last refusal, not asked again)" : ""}`,
  });
  remember(recentRefusals, MAX_RECENT_REFUSALS, key, refusal);
  return refusal;
}
