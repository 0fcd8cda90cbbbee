import { describe, expect, it } from "vitest";
import { envelopeResponse } from "../../src/errors";
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

  // A refusal is built once for the states the deny cache answers with (src/ratelimit/headers.ts), and answered again while it says the same.
  it("answers the same refusal again while it says the same, and a new one as soon as any figure moves", () => {
    const violated = state(burst, 10, now + 5_000, now + 22_900);
    const states = [violated, state(hourly, 10, now + 60_000)];
    const first = rateLimitExceeded(violated, states, now);
    expect(rateLimitExceeded(violated, states, now + 500)).toBe(first); // still 23 s, t=23 and t=60
    expect(JSON.parse(first.envelopeBody)).toEqual({ error: "Rate limit exceeded", code: "RATE_LIMIT_EXCEEDED", details: first.details });

    const later = rateLimitExceeded(violated, states, now + 1_001);
    expect(later).not.toBe(first);
    expect(later.details).toMatchObject({ retryAfter: 22 });
    expect(later.headers).toEqual({ "RateLimit-Policy": '"burst";q=10;w=60, "hourly";q=500;w=3600', RateLimit: '"burst";r=0;t=22, "hourly";r=490;t=59', "Retry-After": "22" });
    expect(JSON.parse(later.envelopeBody).details.retryAfter).toBe(22);
    expect(first.details).toMatchObject({ retryAfter: 23 }); // the earlier one is unchanged
  });

  it("builds a new refusal when only another policy's reset moves, or when a new answer brings new states", () => {
    const violated = state(burst, 10, now + 5_000, now + 22_900);
    const states = [violated, state(hourly, 10, now + 60_400)];
    const first = rateLimitExceeded(violated, states, now);
    expect(first.headers.RateLimit).toBe('"burst";r=0;t=23, "hourly";r=490;t=61');
    const moved = rateLimitExceeded(violated, states, now + 500); // Retry-After still 23, hourly's t now 60
    expect(moved).not.toBe(first);
    expect(moved.headers.RateLimit).toBe('"burst";r=0;t=23, "hourly";r=490;t=60');
    const fromNewAnswer = [state(burst, 10, now + 5_000, now + 22_900), state(hourly, 9, now + 60_400)];
    const again = rateLimitExceeded(violated, fromNewAnswer, now + 500);
    expect(again).not.toBe(moved);
    expect(again.headers.RateLimit).toBe('"burst";r=0;t=23, "hourly";r=491;t=60');
  });

  it("answers each request with its own response: a header one response gets never reaches the next", async () => {
    const violated = state(burst, 10, now + 5_000, now + 22_900);
    const refusal = rateLimitExceeded(violated, [violated], now, true);
    const first = envelopeResponse(refusal);
    first.headers.set("X-Request-Id", "req-1");
    first.headers.append("Vary", "Origin");
    const second = envelopeResponse(refusal);
    expect(second.status).toBe(429);
    expect(second.headers.get("x-request-id")).toBeNull();
    expect(second.headers.get("vary")).toBeNull();
    expect(Object.fromEntries(second.headers)).toEqual({
      "cache-control": "no-store",
      "content-type": "application/json; charset=utf-8",
      ratelimit: '"burst";r=0;t=23',
      "ratelimit-policy": '"burst";q=10;w=60',
      "retry-after": "23",
    });
    expect(await second.json()).toEqual(await first.json());
  });

  it("keeps apart refusals that differ only in what they say about other policies, the deciding policy, its scope or the deny cache", () => {
    const violated = state(burst, 10, now + 5_000, now + 22_001);
    const base = rateLimitExceeded(violated, [violated], now);
    const withHourly = rateLimitExceeded(violated, [violated, state(hourly, 10, now + 60_000)], now);
    const withoutUsage = rateLimitExceeded(violated, [], now); // a portal customer: no RateLimit fields
    const cached = rateLimitExceeded(violated, [violated], now, true);
    const keyPolicy = state({ ...burst, scope: "key" }, 10, now + 5_000, now + 22_001);
    const byKey = rateLimitExceeded(keyPolicy, [keyPolicy], now);
    const higher = state({ ...burst, limit: 11 }, 11, now + 5_000, now + 22_001);
    const byHigher = rateLimitExceeded(higher, [higher], now);
    expect(new Set([base, withHourly, withoutUsage, cached, byKey, byHigher]).size).toBe(6);
    expect(withoutUsage.headers).toEqual({ "Retry-After": "23" });
    expect(cached.logReason).toMatch(/deny cache/);
    expect(base.logReason).not.toMatch(/deny cache/);
    expect(byKey.details).toMatchObject({ scope: "key" });
    expect(byKey.headers.RateLimit).toBe('"key:burst";r=0;t=23');
    expect(byHigher.details).toMatchObject({ limit: 11 });
  });
});
