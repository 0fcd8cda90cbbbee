import { describe, expect, it } from "vitest";
import { rateLimitExceeded, rateLimitHeaders, secondsUntil } from "../../src/ratelimit/headers";
import type { Policy } from "../../src/shared/policy";
import type { PolicyState } from "../../src/ratelimit/sliding-window";

const burst: Policy = { name: "burst", limit: 10, windowSec: 60 };
const hourly: Policy = { name: "hourly", limit: 500, windowSec: 3600 };
const now = 1_700_000_000_000;

function state(policy: Policy, used: number, resetMs: number, retryAtMs: number | null = null): PolicyState {
  return { policy, used, remaining: Math.max(0, policy.limit - used), resetMs, retryAtMs };
}

describe("RateLimit headers (draft-ietf-httpapi-ratelimit-headers-11)", () => {
  it("lists every policy with its quota and window, and remaining with seconds to reset", () => {
    expect(rateLimitHeaders([state(burst, 3, now + 18_000), state(hourly, 58, now + 3_000_001)], now)).toEqual({
      "RateLimit-Policy": '"burst";q=10;w=60, "hourly";q=500;w=3600',
      RateLimit: '"burst";r=7;t=18, "hourly";r=442;t=3001',
    });
  });

  it("reports a refusing policy with nothing remaining until its retry time", () => {
    expect(rateLimitHeaders([state(burst, 10, now + 5_000, now + 23_000)], now).RateLimit).toBe('"burst";r=0;t=23');
  });

  it("adds nothing when no policy applies", () => {
    expect(rateLimitHeaders([], now)).toEqual({});
  });

  it("rounds seconds up, so a client that waits that long is never early", () => {
    expect(secondsUntil(now + 1, now)).toBe(1);
    expect(secondsUntil(now + 1000, now)).toBe(1);
    expect(secondsUntil(now + 1001, now)).toBe(2);
    expect(secondsUntil(now - 5, now)).toBe(0);
  });
});

describe("the 429", () => {
  it("has the seed's shape with Retry-After equal to details.retryAfter", () => {
    const violated = state(burst, 10, now + 5_000, now + 22_001);
    const err = rateLimitExceeded(violated, [violated, state(hourly, 10, now + 60_000)], now);
    expect(err.status).toBe(429);
    expect(err.code).toBe("RATE_LIMIT_EXCEEDED");
    // The seed's fields, then the policy that decided and its scope.
    expect(err.details).toEqual({ limit: 10, window: "1m", retryAfter: 23, policy: "burst", scope: "tenant" });
    expect(err.headers["Retry-After"]).toBe("23");
    expect(err.headers["RateLimit-Policy"]).toBe('"burst";q=10;w=60, "hourly";q=500;w=3600');
    expect(err.headers.RateLimit).toBe('"burst";r=0;t=23, "hourly";r=490;t=60');
  });

  it("never tells a client to retry after 0 seconds", () => {
    const violated = state(burst, 10, now, now + 1);
    expect(rateLimitExceeded(violated, [violated], now).details).toMatchObject({ retryAfter: 1 });
  });
});
