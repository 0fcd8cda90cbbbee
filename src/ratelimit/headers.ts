/**
 * The rate-limit fields of draft-ietf-httpapi-ratelimit-headers-12 (`t`: seconds until additional quota is
 * available, which is when the oldest counted bucket leaves the span) and the seed's 429. Pure.
 *   RateLimit-Policy: "default";q=100;w=60
 *   RateLimit: "default";r=42;t=18
 */
import { GatewayError } from "../errors";
import { formatWindow } from "./policy";
import type { PolicyState } from "./sliding-window";

/** Whole seconds from now to `atMs`, rounded up so a client that waits that long is never early. */
export function secondsUntil(atMs: number, nowMs: number): number {
  return Math.max(0, Math.ceil((atMs - nowMs) / 1000));
}

export function rateLimitHeaders(states: readonly PolicyState[], nowMs: number): Record<string, string> {
  if (states.length === 0) return {};
  return {
    "RateLimit-Policy": states.map((s) => `"${s.policy.name}";q=${s.policy.limit};w=${s.policy.windowSec}`).join(", "),
    RateLimit: states
      .map((s) => `"${s.policy.name}";r=${s.retryAtMs !== null ? 0 : s.remaining};t=${secondsUntil(s.retryAtMs ?? s.resetMs, nowMs)}`)
      .join(", "),
  };
}

/** The seed's 429: `details: { limit, window, retryAfter }` and a `Retry-After` with the same seconds. */
export function rateLimitExceeded(violated: PolicyState, states: readonly PolicyState[], nowMs: number): GatewayError {
  const retryAfter = Math.max(1, secondsUntil(violated.retryAtMs ?? nowMs, nowMs));
  return new GatewayError("RATE_LIMIT_EXCEEDED", {
    details: { limit: violated.policy.limit, window: formatWindow(violated.policy.windowSec), retryAfter },
    headers: { ...rateLimitHeaders(states, nowMs), "Retry-After": String(retryAfter) },
    logReason: `policy ${violated.policy.name} exhausted`,
  });
}
