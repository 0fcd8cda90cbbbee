/** Rate-limit settings from vars: the default policies, the fail policy, the limiter call timeout and the lease life. */
import * as v from "valibot";
import { formatWindow, MAX_LIMIT, MAX_POLICIES, MAX_WINDOW_SEC, MIN_WINDOW_SEC, parseWindow, type Policy } from "../shared/policy";
import { ConfigError, configValue, expectInt } from "./validate";

/** While the limiter is unreachable: admit, refuse (503), or admit reads (GET/HEAD) and refuse writes. */
export type FailMode = "open" | "closed" | "reads-open";

/** The settings a lease holder works with (src/ratelimit/lease-holder.ts); docs/rate-limiting.md, "Edge admission", gives their bounds. */
export interface LeaseSettings {
  /** A lease's life, from the moment its request was sent: the bound on revocation and policy propagation. */
  ttlMs: number;
  /** Taken off the life on the isolate's side: Workers' clock only advances at I/O, so a reading may be a little early. */
  marginMs: number;
  /** How long a refusal is answered from the isolate before the object is asked again. */
  denyForMs: number;
  /** How long one exchange may take before the fail policy applies. */
  timeoutMs: number;
}

export interface RateLimitConfig {
  defaults: Policy[];
  failMode: FailMode;
  timeoutMs: number;
  lease: LeaseSettings;
}

/** Workers' clock only advances at I/O: a reading may trail real time by the CPU time since, a few ms at most. */
const LEASE_MARGIN_MS = 25;

/** The problem with one parsed default policy, or null. */
function policyProblem(policy: Policy): string | null {
  if (policy.limit < 1 || policy.limit > MAX_LIMIT) return `limit must be from 1 to ${MAX_LIMIT}`;
  if (policy.windowSec < MIN_WINDOW_SEC || policy.windowSec > MAX_WINDOW_SEC) return "window must be from 1s to 1d";
  return null;
}

/**
 * Parses the `RATE_LIMIT_DEFAULT` var: `100/1m` (the policy `default`) or `100/1m,2000/1h` (each named after
 * its window: `w1m`, `w1h`). Returns the policies, or the problem as a message.
 */
export function parsePolicyList(text: string): Policy[] | string {
  const parts = text.split(",").map((p) => p.trim());
  if (parts.length > MAX_POLICIES) return `at most ${MAX_POLICIES} policies`;
  const policies: Policy[] = [];
  const names = new Set<string>();
  for (const part of parts) {
    const m = /^(\d{1,7})\/(\S+)$/.exec(part);
    const windowSec = m === null ? null : parseWindow(m[2] ?? "");
    if (m === null || windowSec === null) return `"${part}" is not LIMIT/WINDOW like 100/1m`;
    const policy = { name: parts.length === 1 ? "default" : `w${formatWindow(windowSec)}`, limit: Number(m[1]), windowSec };
    const problem = policyProblem(policy);
    if (problem !== null) return `"${part}": ${problem}`;
    if (names.has(policy.name)) return `"${part}": a second policy with the window ${formatWindow(windowSec)}`;
    names.add(policy.name);
    policies.push(policy);
  }
  return policies;
}

export function parseRateLimitConfig(vars: Record<string, unknown>): RateLimitConfig {
  const text = vars.RATE_LIMIT_DEFAULT ?? "100/1m";
  if (typeof text !== "string") throw new ConfigError("RATE_LIMIT_DEFAULT", "must be a string like 100/1m");
  const defaults = parsePolicyList(text);
  if (typeof defaults === "string") throw new ConfigError("RATE_LIMIT_DEFAULT", "must be policies like 100/1m,2000/1h", defaults);
  const failMode = configValue(v.picklist(["open", "closed", "reads-open"], 'must be "open", "closed" or "reads-open"'), vars.RATE_LIMIT_FAIL_MODE ?? "open", "RATE_LIMIT_FAIL_MODE");
  const timeoutMs = expectInt(vars.RATE_LIMIT_TIMEOUT_MS ?? 1000, "RATE_LIMIT_TIMEOUT_MS", 10, 30_000);
  // The lease life bounds how long a revocation or a policy change takes to reach every isolate.
  const ttlMs = expectInt(vars.RATE_LIMIT_LEASE_MS ?? 1000, "RATE_LIMIT_LEASE_MS", 100, 10_000);
  return { defaults, failMode, timeoutMs, lease: { ttlMs, marginMs: LEASE_MARGIN_MS, denyForMs: ttlMs, timeoutMs } };
}
