/** Rate-limit settings from vars: the default policies, the fail policy, the limiter call timeout and the lease life. */
import type { LeaseSettings } from "../ratelimit/lease-holder";
import { parsePolicyList, type Policy } from "../ratelimit/policy";
import * as v from "valibot";
import { ConfigError, configValue, expectInt } from "./validate";

/** While the limiter is unreachable: admit, refuse (503), or admit reads (GET/HEAD) and refuse writes. */
export type FailMode = "open" | "closed" | "reads-open";

export interface RateLimitConfig {
  defaults: Policy[];
  failMode: FailMode;
  timeoutMs: number;
  lease: LeaseSettings;
}

/** Workers' clock only advances at I/O: a reading may trail real time by the CPU time since, a few ms at most. */
const LEASE_MARGIN_MS = 25;

export function parseRateLimitConfig(vars: Record<string, unknown>): RateLimitConfig {
  const text = vars.RATE_LIMIT_DEFAULT ?? "100/1m";
  if (typeof text !== "string") throw new ConfigError("RATE_LIMIT_DEFAULT", "must be a string like 100/1m");
  const defaults = parsePolicyList(text);
  if (typeof defaults === "string") throw new ConfigError("RATE_LIMIT_DEFAULT", defaults);
  const failMode = configValue(v.picklist(["open", "closed", "reads-open"], 'must be "open", "closed" or "reads-open"'), vars.RATE_LIMIT_FAIL_MODE ?? "open", "RATE_LIMIT_FAIL_MODE");
  const timeoutMs = expectInt(vars.RATE_LIMIT_TIMEOUT_MS ?? 1000, "RATE_LIMIT_TIMEOUT_MS", 10, 30_000);
  // The lease life bounds how long a revocation or a policy change takes to reach every isolate.
  const ttlMs = expectInt(vars.RATE_LIMIT_LEASE_MS ?? 1000, "RATE_LIMIT_LEASE_MS", 100, 10_000);
  return { defaults, failMode, timeoutMs, lease: { ttlMs, marginMs: LEASE_MARGIN_MS, denyForMs: ttlMs, timeoutMs } };
}
