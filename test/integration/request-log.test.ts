/**
 * The request log line keeps each stage's findings: the rate limiter's own fields are its alone, and the
 * error handler's `code` and `reason` (the refusal's cause) never erase them. Driven through the Worker
 * with vars and a limiter binding replaced per request; the lease holders' clock is frozen, so a cached
 * refusal stays cached for the test.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { setLeaseClock } from "../../src/ratelimit/admission";
import { generateIntegrationKey } from "../../src/auth/integration-key";
import { createKey, rid, sessionToken, tenant } from "../support/gateway";
import { directoryOnlyKey } from "../support/key-stores";
import { callWith, envWith } from "../support/worker";

/** A TENANT_LIMITER whose every exchange fails: a request that reaches it is admitted fail-open (status 200). */
const unreachableLimiter = { idFromName: (name: string) => name, get: () => ({ exchange: () => Promise.reject(new Error("limiter unreachable")) }) };

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
    // Refused from what the isolate held: no wait for the limiter.
    expect(cached.entry.leaseWait).toBe(0);
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

/** Sends one request through the Worker and returns its response and its request log line. */
async function logged(path: string, init: Omit<RequestInit, "headers"> & { headers?: Record<string, string> } = {}, vars: Record<string, unknown> = {}) {
  const id = rid("log");
  const res = await callWith(envWith(vars), path, { ...init, headers: { ...init.headers, "x-request-id": id } });
  await res.arrayBuffer();
  const mine = lines.filter((l) => l.includes(`"requestId":"${id}"`) && l.includes('"msg":"request"'));
  expect(mine).toHaveLength(1);
  return { res, entry: JSON.parse(mine[0] ?? "{}") as Record<string, unknown> };
}

describe("request log: what an on-call engineer searches for", () => {
  it("logs a product error the gateway rewrote with the code the client got (502 page -> BAD_GATEWAY)", async () => {
    const { key } = await createKey(tenant("log-502"), { psa: "read" });
    const { res, entry } = await logged("/psa/tickets", { headers: { "x-integration-key": key, "x-demo-fault": "html-502" } });
    expect(res.status).toBe(502);
    expect(entry).toMatchObject({ decision: "admitted", status: 502, upstreamStatus: 502, code: "BAD_GATEWAY", level: "error" });
    expect(entry.reason).toBe("product answered 502, rewritten as BAD_GATEWAY");
  });

  it("logs a product 500 envelope with its code", async () => {
    const { key } = await createKey(tenant("log-500"), { psa: "read" });
    const { res, entry } = await logged("/psa/tickets", { headers: { "x-integration-key": key, "x-demo-fault": "envelope-500" } });
    expect(res.status).toBe(500);
    expect(entry).toMatchObject({ status: 500, upstreamStatus: 500, code: "INTERNAL_ERROR" });
  });

  it("logs a product envelope passed on with its code", async () => {
    const { key } = await createKey(tenant("log-404"), { psa: "read" });
    const { res, entry } = await logged("/psa/tickets/tkt_nonexistent", { headers: { "x-integration-key": key } });
    expect(res.status).toBe(404);
    expect(entry).toMatchObject({ status: 404, upstreamStatus: 404, code: "NOT_FOUND", reason: "product answered 404, its envelope passed on" });
  });

  it("logs a 504 with how long the product had (upstreamMs), and no upstream status", async () => {
    const { key } = await createKey(tenant("log-504"), { psa: "read" });
    const { res, entry } = await logged("/psa/tickets", { headers: { "x-integration-key": key, "x-demo-fault": "slow=20000" } }, { UPSTREAM_TIMEOUT_MS_PSA: "150" });
    expect(res.status).toBe(504);
    expect(entry).toMatchObject({ code: "GATEWAY_TIMEOUT", status: 504 });
    expect(entry.upstreamMs).toBeGreaterThanOrEqual(150);
    expect(entry).not.toHaveProperty("upstreamStatus");
  });

  it("logs an unreachable product's 502 with upstreamMs and no upstream status", async () => {
    const { key } = await createKey(tenant("log-unreachable"), { psa: "read" });
    const { res, entry } = await logged("/psa/tickets", { headers: { "x-integration-key": key } }, { UPSTREAM_PSA: "http://127.0.0.1:9" });
    expect(res.status).toBe(502);
    expect(entry).toMatchObject({ code: "BAD_GATEWAY", status: 502 });
    expect(typeof entry.upstreamMs).toBe("number");
    expect(entry).not.toHaveProperty("upstreamStatus");
  });

  it("logs leaseWait as milliseconds, not a flag (0 for a refusal from the isolate's deny cache: above)", async () => {
    const { key } = await createKey(tenant("log-lease"), { psa: "read" });
    const first = await logged("/psa/tickets", { headers: { "x-integration-key": key } });
    expect(first.entry).toMatchObject({ decision: "admitted" });
    expect(typeof first.entry.leaseWait).toBe("number");
    expect(first.entry.leaseWait).toBeGreaterThanOrEqual(0);
  });

  it("logs the time spent authenticating and where the key record came from: KV, then this isolate's cache", async () => {
    const { key } = await createKey(tenant("log-auth"), { psa: "read" });
    const first = await logged("/psa/tickets", { headers: { "x-integration-key": key } });
    expect(first.entry).toMatchObject({ keySource: "kv" });
    expect(typeof first.entry.authMs).toBe("number");
    const second = await logged("/psa/tickets", { headers: { "x-integration-key": key } });
    expect(second.entry).toMatchObject({ keySource: "isolate" });
    expect(typeof second.entry.authMs).toBe("number");
  });

  it("logs a key found only in the key directory as such", async () => {
    const { key } = await directoryOnlyKey(tenant("log-dir"));
    const { res, entry } = await logged("/psa/tickets", { headers: { "x-integration-key": key } });
    expect(res.status).toBe(200);
    expect(entry).toMatchObject({ keySource: "directory" });
  });

  it("logs a refused key's authentication time and source too, and its cached miss as the isolate's", async () => {
    const unknown = generateIntegrationKey();
    const { entry } = await logged("/psa/tickets", { headers: { "x-integration-key": unknown } });
    expect(entry).toMatchObject({ status: 401, code: "UNAUTHORIZED", keySource: "directory" });
    expect(typeof entry.authMs).toBe("number");
    const again = await logged("/psa/tickets", { headers: { "x-integration-key": unknown } });
    expect(again.entry).toMatchObject({ status: 401, keySource: "isolate" });
  });

  it("logs each request without a credential as its own refusal: code, reason and status, nothing from the one before", async () => {
    const first = await logged("/psa/tickets/tkt_1", { headers: { "x-integration-key": "osk_not-a-key" } });
    expect(first.entry).toMatchObject({ status: 401, decision: "refused", code: "UNAUTHORIZED", reason: "integration key malformed or checksum mismatch" });
    for (const path of ["/psa/tickets", "/psa/tickets/tkt_2"]) {
      const { res, entry } = await logged(path);
      expect(res.status).toBe(401);
      expect(entry).toMatchObject({ status: 401, decision: "refused", code: "UNAUTHORIZED", reason: "no credential", path, product: "psa" });
      expect(entry).not.toHaveProperty("authMs");
      expect(entry).not.toHaveProperty("tenant");
      expect(res.headers.get("x-request-id")).toBe(entry.requestId);
    }
  });

  it("logs a session JWT's authentication time, with no key source", async () => {
    const token = await sessionToken(tenant("log-jwt"), ["psa:*"]);
    const { res, entry } = await logged("/psa/tickets", { headers: { authorization: `Bearer ${token}` } });
    expect(res.status).toBe(200);
    expect(typeof entry.authMs).toBe("number");
    expect(entry).not.toHaveProperty("keySource");
  });

  it("logs request and response body bytes", async () => {
    const { key } = await createKey(tenant("log-bytes"), { psa: "write" });
    const body = JSON.stringify({ title: "bytes", description: "x".repeat(300) });
    const { res, entry } = await logged("/psa/tickets", { method: "POST", headers: { "x-integration-key": key, "content-type": "application/json" }, body });
    expect(res.status).toBe(201);
    expect(entry.requestBytes).toBe(new TextEncoder().encode(body).byteLength);
    expect(entry.responseBytes).toBe(Number(res.headers.get("content-length")));
    expect(entry.responseBytes).toBeGreaterThan(0);
    const get = await logged("/psa/tickets", { headers: { "x-integration-key": key } });
    expect(get.entry.requestBytes).toBe(0);
  });

  it("logs the Cloudflare location when the runtime gives one, and no colo field when it does not", async () => {
    const { key } = await createKey(tenant("log-colo"), { psa: "read" });
    const at = await logged("/psa/tickets", { headers: { "x-integration-key": key }, cf: { colo: "AMS" } });
    expect(at.entry).toMatchObject({ colo: "AMS" });
    const none = await logged("/psa/tickets", { headers: { "x-integration-key": key } });
    expect(none.entry).not.toHaveProperty("colo");
  });
});
