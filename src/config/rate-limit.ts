/** Rate-limit settings from vars: the default policies, the fail policy and the limiter call timeout. */
import { parsePolicyList, type Policy } from "../ratelimit/policy";
import { ConfigError, expectInt } from "./validate";

export type FailMode = "open" | "closed";

export interface RateLimitConfig {
  defaults: Policy[];
  failMode: FailMode;
  timeoutMs: number;
}

export function parseRateLimitConfig(vars: Record<string, unknown>): RateLimitConfig {
  const text = vars.RATE_LIMIT_DEFAULT ?? "100/1m";
  if (typeof text !== "string") throw new ConfigError("RATE_LIMIT_DEFAULT", "must be a string like 100/1m");
  const defaults = parsePolicyList(text);
  if (typeof defaults === "string") throw new ConfigError("RATE_LIMIT_DEFAULT", defaults);
  const failMode = vars.RATE_LIMIT_FAIL_MODE ?? "open";
  if (failMode !== "open" && failMode !== "closed") throw new ConfigError("RATE_LIMIT_FAIL_MODE", 'must be "open" or "closed"');
  return { defaults, failMode, timeoutMs: expectInt(vars.RATE_LIMIT_TIMEOUT_MS ?? 1000, "RATE_LIMIT_TIMEOUT_MS", 10, 30_000) };
}
