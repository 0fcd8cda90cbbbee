/**
 * The request log line keeps each stage's findings: the rate limiter's own fields are its alone, and the
 * error handler's `code` and `reason` (the refusal's cause) never erase them. Driven through the Worker
 * with vars and a limiter binding replaced per request; the lease holders' clock is frozen, so a cached
 * refusal stays cached for the test.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { setLeaseClock } from "../../src/ratelimit/admission";
import { createKey, rid, tenant } from "../support/gateway";
import { callWith, envWith } from "../support/worker";

/** A TENANT_LIMITER whose every exchange fails: a request that reaches it is admitted fail-open (status 200). */
const unreachableLimiter = { getByName: () => ({ exchange: () => Promise.reject(new Error("limiter unreachable")) }) };

let lines: string[] = [];
beforeEach(() => {
  lines = [];
  vi.spyOn(console, "log").mockImplementation((line: unknown) => void lines.push(String(line)));
  const frozen = Date.now();
  setLeaseClock(() => frozen);
});
afterEach(() => {
  vi.restoreAllMocks();
  setLeaseClock(null);
});

/** Sends one request with its own id; its status, RateLimit header and request log line. */
async function send(key: string, vars: Record<string, unknown>) {
  const id = rid("log");
  const res = await callWith(envWith(vars), "/psa/tickets", { headers: { "x-integration-key": key, "x-request-id": id } });
  await res.body?.cancel();
  const mine = lines.filter((l) => l.includes(`"requestId":"${id}"`) && l.includes('"msg":"request"'));
  expect(mine).toHaveLength(1);
  return { status: res.status, rateLimit: res.headers.get("ratelimit"), entry: JSON.parse(mine[0] ?? "{}") as Record<string, unknown> };
}

describe("request log: rate-limit findings survive the refusal", () => {
  it("logs a refusal from the deny cache as cached, with a reason that says so, without asking the limiter", async () => {
    const { key } = await createKey(tenant("log-deny"), { psa: "read" });
    const limit = { RATE_LIMIT_DEFAULT: "1/1m" };
    expect((await send(key, limit)).status).toBe(200);

    const fromLimiter = await send(key, limit);
    expect(fromLimiter.status).toBe(429);
    expect(fromLimiter.entry).toMatchObject({ decision: "refused", code: "RATE_LIMIT_EXCEEDED", reason: "policy default exhausted", rateLimitRemaining: 0 });
    expect(fromLimiter.entry).not.toHaveProperty("rateLimitCached");

    // The limiter now fails every exchange: had this request reached it, fail-open would have admitted it.
    const cached = await send(key, { ...limit, TENANT_LIMITER: unreachableLimiter });
    expect(cached.status).toBe(429);
    expect(cached.entry).toMatchObject({ decision: "refused", code: "RATE_LIMIT_EXCEEDED", rateLimitCached: true, rateLimitRemaining: 0 });
    expect(cached.entry.reason).toMatch(/^policy default exhausted \(deny cache\b/);
  });

  it("logs a fail-open admission with the limiter's error in its own field, and no refusal code or reason", async () => {
    const { key } = await createKey(tenant("log-fail-open"), { psa: "read" });
    const admitted = await send(key, { TENANT_LIMITER: unreachableLimiter, RATE_LIMIT_FAIL_MODE: "open" });
    expect(admitted.status).toBe(200);
    expect(admitted.rateLimit).toBeNull();
    expect(admitted.entry).toMatchObject({ decision: "admitted", rateLimitFailOpen: true, upstreamStatus: 200 });
    expect(admitted.entry.rateLimitError).toMatch(/fail mode open\): Error: limiter unreachable$/);
    expect(admitted.entry).not.toHaveProperty("code");
    expect(admitted.entry).not.toHaveProperty("reason");
  });
});
