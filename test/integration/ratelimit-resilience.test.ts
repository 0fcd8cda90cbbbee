/**
 * The limiter's hot path and failure modes, through the Worker's fetch handler: the real tenant objects,
 * whose served calls are counted from inside (test/support/limiter-calls.ts), or a custom env whose
 * TENANT_LIMITER fails or hangs.
 */
import { createExecutionContext, waitOnExecutionContext } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { afterEach, describe, expect, it, vi } from "vitest";
import worker from "../../src/index";
import { setLeaseClock } from "../../src/ratelimit/admission";
import { leaseTime } from "../support/lease-time";
import { ADMIN, call, createKey, envelope, recorded, rid, tenant } from "../support/gateway";
import { countLimiterCalls } from "../support/limiter-calls";
import { captureLogs, requestLine } from "../support/logs";

type Limiter = Env["TENANT_LIMITER"];

/** A namespace whose stubs answer `exchange` with `exchange()`'s promise (a rejection, or one that never settles); its ids are the names. */
function brokenLimiter(exchange: () => Promise<never>): Limiter {
  return { idFromName: (name: string) => name, get: () => ({ exchange }) } as unknown as Limiter;
}

let time: ReturnType<typeof leaseTime> | null = null;
afterEach(() => {
  time?.end();
  time = null;
  setLeaseClock(null);
});

async function fetchWith(overrides: Partial<Env>, path: string, headers: Record<string, string>): Promise<Response> {
  const ctx = createExecutionContext();
  const res = await worker.fetch(new Request(`https://gateway.test${path}`, { headers }), { ...env, ...overrides } as Env, ctx);
  await waitOnExecutionContext(ctx);
  return res;
}

async function tenantWithLimit(label: string, limit: number) {
  const t = tenant(label);
  const { key } = await createKey(t, { psa: "write" });
  const res = await call(`/__gateway/admin/tenants/${t}/rate-limit`, {
    method: "PUT",
    headers: { ...ADMIN, "content-type": "application/json" },
    body: JSON.stringify({ policies: [{ name: "burst", limit, window: "1m" }] }),
  });
  expect(res.status).toBe(200);
  return { t, key };
}

const never = () => new Promise<never>(() => {});
const unreachable = () => Promise.reject(new Error("Durable Object unreachable"));

describe("rate limiting: hot path", () => {
  it("makes one call for a cold request, then admits from the permits in hand once it sees demand", async () => {
    const { t, key } = await tenantWithLimit("rl-lease", 1000);
    const calls = await countLimiterCalls(t);
    const t_ = leaseTime();
    time = t_;
    const send = async () => (await call("/psa/tickets", { headers: { "x-integration-key": key } })).status;
    expect(await send()).toBe(200);
    expect(calls("exchange")).toBe(1); // a cold holder asks for exactly what its request needs
    expect(await send()).toBe(200);
    expect(calls("exchange")).toBe(2); // now it has seen demand: it leases ahead of need
    for (let i = 0; i < 2; i++) expect(await send()).toBe(200);
    expect(calls("exchange")).toBe(2);
    const limiter = env.TENANT_LIMITER.getByName(t);
    const defaults = [{ name: "burst", limit: 1000, windowSec: 60 }];
    expect((await limiter.status(defaults)).states[0]?.used).toBeGreaterThan(4); // permits leased ahead count as used
    t_.advance(1_000); // the lease's life is over: its unused permits are given back in the background, unasked
    await vi.waitFor(() => expect(calls("exchange")).toBe(3));
    expect((await limiter.status(defaults)).states[0]?.used).toBe(4); // exactly the 4 admitted
    expect(await send()).toBe(200);
    expect(calls("exchange")).toBe(4); // the next request exchanges again
  });

  it("keeps admitting from a lease in hand while the Durable Object is unreachable, then applies the fail policy", async () => {
    const { key } = await tenantWithLimit("rl-lease-outage", 1000);
    const t_ = leaseTime();
    time = t_;
    // Through the Worker's own binding (its lease-end timers are not awaited: the injected clock moves them).
    expect((await call("/psa/tickets", { headers: { "x-integration-key": key } })).status).toBe(200);
    expect((await call("/psa/tickets", { headers: { "x-integration-key": key } })).status).toBe(200); // leases ahead from here
    const down = { TENANT_LIMITER: brokenLimiter(unreachable), RATE_LIMIT_FAIL_MODE: "closed" } as Partial<Env>;
    t_.advance(900);
    const during = await fetchWith(down, "/psa/tickets", { "x-integration-key": key });
    expect(during.status).toBe(200);
    expect(during.headers.get("ratelimit")).toMatch(/^"burst";r=\d+;t=\d+$/);
    t_.advance(100);
    const after = await fetchWith(down, "/psa/tickets", { "x-integration-key": key });
    expect(after.status).toBe(503);
    expect((await envelope(after)).code).toBe("SERVICE_UNAVAILABLE");
  });

  it("refuses a tenant known to be over its limit without calling the Durable Object", async () => {
    const { t, key } = await tenantWithLimit("rl-deny-cache", 2);
    const calls = await countLimiterCalls(t);
    time = leaseTime(); // the cached refusal lasts one lease life: on injected time, however slow this machine is
    const send = (id = rid("deny")) => call("/psa/tickets", { headers: { "x-integration-key": key, "x-request-id": id } });
    expect([(await send()).status, (await send()).status]).toEqual([200, 200]);
    const first = await send();
    expect(first.status).toBe(429);
    expect(calls()).toBe(3); // at 2 a minute nothing is leased ahead: every request asked

    const ids = Array.from({ length: 5 }, () => rid("cached"));
    for (const id of ids) {
      const res = await send(id);
      expect(res.status).toBe(429);
      const body = await envelope(res);
      expect(body.code).toBe("RATE_LIMIT_EXCEEDED");
      expect(body.details).toMatchObject({ limit: 2, window: "1m" });
      expect(res.headers.get("retry-after")).toBe(String(body.details?.retryAfter));
      expect(res.headers.get("ratelimit-policy")).toBe('"burst";q=2;w=60');
      expect(res.headers.get("x-request-id")).toBe(id);
    }
    expect(calls()).toBe(3);
    expect((await Promise.all(ids.map((id) => recorded("psa", id)))).flat()).toHaveLength(0);
  });

  it("does not let one tenant's cached denial refuse another tenant", async () => {
    const a = await tenantWithLimit("rl-deny-a", 1);
    const b = await tenantWithLimit("rl-deny-b", 1);
    const send = (key: string) => call("/psa/tickets", { headers: { "x-integration-key": key } });
    expect([(await send(a.key)).status, (await send(a.key)).status, (await send(a.key)).status]).toEqual([200, 429, 429]);
    expect((await send(b.key)).status).toBe(200);
  });
});

describe("rate limiting: when the limiter fails", () => {
  it.each([
    ["throws", unreachable],
    ["does not answer in time", never],
  ])("admits and forwards when the Durable Object %s and the fail mode is open", async (_case, admit) => {
    const t = tenant("rl-open");
    const { key } = await createKey(t, { psa: "write" });
    const id = rid("open");
    let res = new Response();
    const lines = await captureLogs(async () => {
      res = await fetchWith({ TENANT_LIMITER: brokenLimiter(admit), RATE_LIMIT_FAIL_MODE: "open", RATE_LIMIT_TIMEOUT_MS: "50" } as Partial<Env>, "/psa/tickets", {
        "x-integration-key": key,
        "x-request-id": id,
      });
    });
    expect(res.status).toBe(200);
    expect(res.headers.get("x-request-id")).toBe(id);
    expect(await recorded("psa", id)).toHaveLength(1);
    // docs/rate-limiting.md, "Fail policy": no limiter answered, so no RateLimit fields; the log line says it failed open.
    expect(res.headers.get("ratelimit")).toBeNull();
    expect(res.headers.get("ratelimit-policy")).toBeNull();
    expect(requestLine(lines, id)).toMatchObject({ decision: "admitted", rateLimitFailOpen: true, status: 200 });
  });

  it.each([
    ["throws", unreachable],
    ["does not answer in time", never],
  ])("answers 503 SERVICE_UNAVAILABLE with Retry-After when the Durable Object %s and the fail mode is closed", async (_case, admit) => {
    const t = tenant("rl-closed");
    const { key } = await createKey(t, { psa: "write" });
    const id = rid("closed");
    const res = await fetchWith({ TENANT_LIMITER: brokenLimiter(admit), RATE_LIMIT_FAIL_MODE: "closed", RATE_LIMIT_TIMEOUT_MS: "50" } as Partial<Env>, "/psa/tickets", {
      "x-integration-key": key,
      "x-request-id": id,
    });
    expect(res.status).toBe(503);
    expect(res.headers.get("x-request-id")).toBe(id);
    expect(Number(res.headers.get("retry-after"))).toBeGreaterThanOrEqual(1);
    const text = await res.clone().text();
    expect(text).not.toMatch(/unreachable|\bat \S+:\d+|Error:/);
    const body = await envelope(res);
    expect(Object.keys(body).sort()).toEqual(["code", "details", "error"]);
    expect(body.code).toBe("SERVICE_UNAVAILABLE");
    expect(await recorded("psa", id)).toHaveLength(0);
  });

  it("answers 503 when getting the stub itself throws and the fail mode is closed", async () => {
    const t = tenant("rl-closed-stub");
    const { key } = await createKey(t, { psa: "write" });
    const throwing = {
      idFromName: (name: string) => name,
      get() {
        throw new Error("namespace unavailable");
      },
    } as unknown as Limiter;
    const res = await fetchWith({ TENANT_LIMITER: throwing, RATE_LIMIT_FAIL_MODE: "closed" } as Partial<Env>, "/psa/tickets", { "x-integration-key": key });
    expect(res.status).toBe(503);
    expect((await envelope(res)).code).toBe("SERVICE_UNAVAILABLE");
  });
});
