/** Rate limiting through the real Worker: admission, headers, the 429, per-tenant policies, isolation, revocation. */
import { runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { afterEach, describe, expect, it, onTestFinished, vi } from "vitest";
import { setLeaseClock } from "../../src/ratelimit/admission";
import type { TenantLimiter } from "../../src/ratelimit/tenant-limiter";
import { ADMIN, call, createKey, envelope, recorded, rid, sessionToken, tenant } from "../support/gateway";
import { countLimiterCalls } from "../support/limiter-calls";
import { leaseTime } from "../support/lease-time";
import { leaseExchange } from "../support/lease-exchange";

interface PolicyInput {
  name: string;
  limit: number;
  window: string;
}

function adminLimit(t: string, init: RequestInit = {}): Promise<Response> {
  return call(`/__gateway/admin/tenants/${t}/rate-limit`, { ...init, headers: { ...ADMIN, "content-type": "application/json", ...init.headers } });
}

async function setPolicies(t: string, policies: PolicyInput[]): Promise<void> {
  const res = await adminLimit(t, { method: "PUT", body: JSON.stringify({ policies }) });
  expect(res.status).toBe(200);
}

/** A tenant with a PSA key and, optionally, its own policies. */
async function tenantWithKey(label: string, policies?: PolicyInput[]) {
  const t = tenant(label);
  const { key, keyId } = await createKey(t, { psa: "write" });
  if (policies !== undefined) await setPolicies(t, policies);
  return { t, key, keyId };
}

function get(key: string, id = rid("rl"), headers: Record<string, string> = {}, path = "/psa/tickets"): Promise<Response> {
  return call(path, { headers: { "x-integration-key": key, "x-request-id": id, ...headers } });
}

/** Sends `n` sequential requests and returns their statuses. */
async function statuses(key: string, n: number): Promise<number[]> {
  const out: number[] = [];
  for (let i = 0; i < n; i++) out.push((await get(key)).status);
  return out;
}

/** Runs the tenant's limiter and this isolate's lease holders on `clock.now` (one machine, one clock). */
async function controlClock(t: string, clock: { now: number }): Promise<void> {
  await runInDurableObject(env.TENANT_LIMITER.getByName(t), (instance: TenantLimiter) => {
    instance.clock = () => clock.now;
  });
  setLeaseClock(() => clock.now);
}

afterEach(() => setLeaseClock(null));

describe("rate limiting: admission", () => {
  it("admits exactly L of 25 concurrent requests and forwards only those", async () => {
    const { key } = await tenantWithKey("rl-concurrent", [{ name: "burst", limit: 10, window: "1m" }]);
    const ids = Array.from({ length: 25 }, () => rid("conc"));
    const responses = await Promise.all(ids.map((id) => get(key, id)));
    const counts = responses.reduce<Record<number, number>>((acc, r) => ({ ...acc, [r.status]: (acc[r.status] ?? 0) + 1 }), {});
    expect(counts).toEqual({ 200: 10, 429: 15 });
    const seen = await Promise.all(ids.map((id) => recorded("psa", id)));
    expect(seen.reduce((n, r) => n + r.length, 0)).toBe(10);
    responses.forEach((r, i) => expect(seen[i]?.length).toBe(r.status === 200 ? 1 : 0));
  });

  it("limits session principals per tenant, sharing the budget with the tenant's keys", async () => {
    const { t, key } = await tenantWithKey("rl-session", [{ name: "burst", limit: 3, window: "1m" }]);
    const token = await sessionToken(t, ["psa:tickets.read"]);
    const bearer = () => call("/psa/tickets", { headers: { authorization: `Bearer ${token}` } });
    expect((await bearer()).status).toBe(200);
    expect((await get(key)).status).toBe(200);
    expect((await bearer()).status).toBe(200);
    const refused = await bearer();
    expect(refused.status).toBe(429);
    expect((await envelope(refused)).code).toBe("RATE_LIMIT_EXCEEDED");
    expect((await get(key)).status).toBe(429);
  });

  it("uses the configured default policy for a tenant without an override", async () => {
    const { key } = await tenantWithKey("rl-default");
    const res = await get(key);
    expect(res.status).toBe(200);
    expect(res.headers.get("ratelimit-policy")).toBe('"default";q=100;w=60');
    // The permit came from a lease: it counts until W (plus a bucket) after the lease's end, at most 1 s away.
    expect(res.headers.get("ratelimit")).toMatch(/^"default";r=99;t=(60|61|62)$/);
  });
});

describe("rate limiting: headers and the 429", () => {
  it("puts RateLimit-Policy and RateLimit on every limited response, with remaining counting down", async () => {
    const { key } = await tenantWithKey("rl-headers", [
      { name: "burst", limit: 3, window: "1m" },
      { name: "hourly", limit: 100, window: "1h" },
    ]);
    const seen: Array<[number, string | null, string | null]> = [];
    for (const path of ["/psa/tickets", "/psa/tickets/tkt_nonexistent", "/psa/tickets", "/psa/tickets"]) {
      const res = await get(key, rid("hdr"), {}, path);
      seen.push([res.status, res.headers.get("ratelimit-policy"), res.headers.get("ratelimit")]);
    }
    const policy = '"burst";q=3;w=60, "hourly";q=100;w=3600';
    expect(seen.map(([status, p]) => [status, p])).toEqual([
      [200, policy],
      [404, policy], // an upstream error is still a limited response
      [200, policy],
      [429, policy],
    ]);
    expect(seen.map(([, , r]) => /r=(\d+);t=\d+, "hourly";r=(\d+);t=\d+$/.exec(r ?? "")?.slice(1))).toEqual([
      ["2", "99"],
      ["1", "98"],
      ["0", "97"],
      ["0", "97"],
    ]);
  });

  it("answers 429 in the seed's shape, with Retry-After equal to details.retryAfter", async () => {
    const { key } = await tenantWithKey("rl-429", [{ name: "burst", limit: 2, window: "1m" }]);
    expect(await statuses(key, 2)).toEqual([200, 200]);
    const id = rid("over");
    const res = await get(key, id);
    expect(res.status).toBe(429);
    expect(res.headers.get("x-request-id")).toBe(id);
    const body = await envelope(res);
    expect(Object.keys(body).sort()).toEqual(["code", "details", "error"]);
    expect(body.code).toBe("RATE_LIMIT_EXCEEDED");
    expect(Object.keys(body.details ?? {}).sort()).toEqual(["limit", "policy", "retryAfter", "scope", "window"]);
    expect(body.details).toMatchObject({ policy: "burst", scope: "tenant" });
    expect(body.details).toMatchObject({ limit: 2, window: "1m" });
    const retryAfter = body.details?.retryAfter as number;
    expect(Number.isInteger(retryAfter)).toBe(true);
    expect(retryAfter).toBeGreaterThanOrEqual(60);
    expect(retryAfter).toBeLessThanOrEqual(61);
    expect(res.headers.get("retry-after")).toBe(String(retryAfter));
    expect(res.headers.get("ratelimit")).toBe(`"burst";r=0;t=${retryAfter}`);
    expect(await recorded("psa", id)).toHaveLength(0);
  });

  it("gives each refusal from the isolate's deny cache its own id and every header, CORS only where asked", async () => {
    const { key } = await tenantWithKey("rl-429-run", [{ name: "burst", limit: 1, window: "1m" }]);
    expect(await statuses(key, 1)).toEqual([200]);
    const origin = "http://localhost:5173";
    for (const withOrigin of [false, true, false, true]) {
      const id = rid("over-run");
      const res = await get(key, id, withOrigin ? { origin } : {});
      expect(res.status).toBe(429);
      expect(res.headers.get("x-request-id")).toBe(id);
      const body = await envelope(res);
      expect(body).toMatchObject({ code: "RATE_LIMIT_EXCEEDED", details: { limit: 1, window: "1m", policy: "burst", scope: "tenant" } });
      const retryAfter = body.details?.retryAfter as number;
      expect(res.headers.get("retry-after")).toBe(String(retryAfter));
      expect(res.headers.get("ratelimit")).toBe(`"burst";r=0;t=${retryAfter}`);
      expect(res.headers.get("ratelimit-policy")).toBe('"burst";q=1;w=60');
      expect(res.headers.get("content-type")).toBe("application/json; charset=utf-8");
      expect(res.headers.get("cache-control")).toBe("no-store");
      expect(res.headers.get("vary")).toBe(withOrigin ? "Origin" : null);
      expect(res.headers.get("access-control-allow-origin")).toBe(withOrigin ? origin : null);
      expect(await recorded("psa", id)).toHaveLength(0);
    }
  });

  it("admits a client that waits Retry-After, and refuses one that waits a second less", async () => {
    const { t, key } = await tenantWithKey("rl-retry", [{ name: "burst", limit: 2, window: "10s" }]);
    const clock = { now: 1_800_000_000_250 };
    await controlClock(t, clock);
    expect(await statuses(key, 2)).toEqual([200, 200]);
    clock.now += 3_456;
    const refused = await get(key);
    const retryAfter = Number(refused.headers.get("retry-after"));
    expect((await envelope(refused)).details?.retryAfter).toBe(retryAfter);
    const refusedAt = clock.now;
    clock.now = refusedAt + (retryAfter - 1) * 1000;
    expect((await get(key)).status).toBe(429);
    clock.now = refusedAt + retryAfter * 1000;
    expect((await get(key)).status).toBe(200);
  });

  it("names the violated policy in details when several apply", async () => {
    const { t, key } = await tenantWithKey("rl-multi", [
      { name: "burst", limit: 2, window: "1m" },
      { name: "hourly", limit: 3, window: "1h" },
    ]);
    const clock = { now: 1_800_000_000_000 };
    await controlClock(t, clock);
    expect(await statuses(key, 2)).toEqual([200, 200]);
    const byBurst = await get(key);
    expect((await envelope(byBurst)).details).toMatchObject({ limit: 2, window: "1m" });
    clock.now += 2 * 60_000;
    expect(await statuses(key, 1)).toEqual([200]);
    const byHourly = await get(key);
    expect(byHourly.status).toBe(429);
    const details = (await envelope(byHourly)).details;
    expect(details).toMatchObject({ limit: 3, window: "1h" });
    expect(byHourly.headers.get("retry-after")).toBe(String(details?.retryAfter));
    expect(byHourly.headers.get("ratelimit")).toMatch(/^"burst";r=1;t=\d+, "hourly";r=0;t=\d+$/);
  });
});

describe("rate limiting: per-tenant policies through the admin API", () => {
  it("reads the default, sets an override, and resets back to the default", async () => {
    const { t, key } = await tenantWithKey("rl-admin");
    const initial = await adminLimit(t);
    expect(initial.status).toBe(200);
    expect(await initial.json()).toMatchObject({ tenantId: t, overridden: false, policies: [{ name: "default", limit: 100, window: "1m" }] });

    const policies = [
      { name: "burst", limit: 5, window: "1s" },
      { name: "daily", limit: 1000, window: "1d" },
    ];
    const put = await adminLimit(t, { method: "PUT", body: JSON.stringify({ policies }) });
    expect(put.status).toBe(200);
    expect(await put.json()).toMatchObject({ overridden: true, policies });
    expect((await get(key)).headers.get("ratelimit-policy")).toBe('"burst";q=5;w=1, "daily";q=1000;w=86400');

    const read = (await (await adminLimit(t)).json()) as { overridden: boolean; policies: PolicyInput[]; usage: Array<{ name: string; used: number; remaining: number }> };
    expect(read.overridden).toBe(true);
    expect(read.policies).toEqual(policies.map((p) => ({ ...p, mode: "enforce" })));
    // Usage counts the permits leased to isolates: a cold isolate leased exactly the one request's.
    const usage = read.usage.map((u) => ({ name: u.name, used: u.used, remaining: u.remaining }));
    expect(usage).toEqual([
      { name: "burst", used: 1, remaining: 4 },
      { name: "daily", used: 1, remaining: 999 },
    ]);

    const reset = await adminLimit(t, { method: "DELETE" });
    expect(reset.status).toBe(200);
    expect(await reset.json()).toMatchObject({ overridden: false, policies: [{ name: "default", limit: 100, window: "1m" }] });
    expect((await get(key)).headers.get("ratelimit-policy")).toBe('"default";q=100;w=60');
  });

  it("applies a raised limit on the tenant's next request, even while it was being refused", async () => {
    const { t, key } = await tenantWithKey("rl-raise", [{ name: "burst", limit: 1, window: "1m" }]);
    expect(await statuses(key, 2)).toEqual([200, 429]);
    await setPolicies(t, [{ name: "burst", limit: 3, window: "1m" }]);
    expect(await statuses(key, 3)).toEqual([200, 200, 429]);
  });

  it.each([
    [{ policies: [{ name: "burst", limit: 0, window: "1m" }] }, ["policies[0].limit"]],
    [{ policies: [{ name: "burst", limit: 10, window: "0s" }] }, ["policies[0].window"]],
    [{ policies: [{ name: "burst", limit: 10, window: "2d" }] }, ["policies[0].window"]],
    [{ policies: [{ name: "burst", limit: 10, window: "soon" }] }, ["policies[0].window"]],
    [{ policies: [{ name: "burst", limit: 10 }] }, ["policies[0].window"]],
    [{ policies: [{ name: "burst", limit: 10, windowSec: 60 }] }, ["policies[0].window", "policies[0].windowSec"]],
    [{ policies: [{ name: "Burst!", limit: 10, window: "1m" }] }, ["policies[0].name"]],
    [{ policies: [{ name: "a", limit: 1, window: "1m" }, { name: "a", limit: 2, window: "1h" }] }, ["policies[1].name"]],
    [{ policies: [] }, ["policies"]],
    [{}, ["policies"]],
    [{ policies: Array.from({ length: 5 }, (_, i) => ({ name: `p${i}`, limit: 1, window: "1m" })) }, ["policies"]],
  ])("refuses %j with VALIDATION_ERROR naming %j", async (body, fields) => {
    const t = tenant("rl-invalid");
    const res = await adminLimit(t, { method: "PUT", body: JSON.stringify(body) });
    expect(res.status).toBe(400);
    const env = await envelope(res);
    expect(env.code).toBe("VALIDATION_ERROR");
    expect(Object.keys((env.details as { fields: Record<string, string> }).fields).sort()).toEqual(fields);
    // The refused change created nothing: the tenant is still unknown (404), so it has no override.
    expect((await adminLimit(t)).status).toBe(404);
  });

  it("refuses a policy change without the admin secret", async () => {
    const t = tenant("rl-noadmin");
    const res = await call(`/__gateway/admin/tenants/${t}/rate-limit`, {
      method: "PUT",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ policies: [{ name: "x", limit: 1000000, window: "1s" }] }),
    });
    expect(res.status).toBe(401);
    expect((await envelope(res)).code).toBe("UNAUTHORIZED");
  });
});

describe("rate limiting: what consumes budget", () => {
  it("does not count requests refused by authentication or authorization", async () => {
    const { t, key } = await tenantWithKey("rl-authfail", [{ name: "burst", limit: 2, window: "1m" }]);
    const { key: rmmOnly } = await createKey(t, { rmm: "read" });
    const expired = await sessionToken(t, ["psa:tickets.read"], {}, { issuedAtSec: Math.floor(Date.now() / 1000) - 3600, expiresInSec: 60 });
    const noPerm = await sessionToken(t, []);
    const refusals = [
      await call("/psa/tickets", { headers: { "x-integration-key": `${key.slice(0, -4)}AAAA` } }),
      await call("/psa/tickets", { headers: { authorization: `Bearer ${expired}` } }),
      await call("/psa/tickets", { headers: { authorization: `Bearer ${noPerm}` } }),
      await call("/psa/tickets", { headers: { "x-integration-key": rmmOnly } }),
      await call("/psa/tickets", { headers: { "x-integration-key": rmmOnly } }),
    ];
    expect(refusals.map((r) => r.status)).toEqual([401, 401, 403, 403, 403]);
    for (const r of refusals) expect(r.headers.has("ratelimit")).toBe(false);
    expect(await statuses(key, 3)).toEqual([200, 200, 429]);
  });

  it("does not count refused requests: the limiter records only admissions", async () => {
    const { t, key } = await tenantWithKey("rl-refused", [{ name: "burst", limit: 2, window: "1m" }]);
    expect(await statuses(key, 2)).toEqual([200, 200]);
    const clock = { now: Date.now() };
    setLeaseClock(() => clock.now);
    for (let i = 0; i < 5; i++) {
      clock.now += 1_000; // past the cached refusal: each refusal reaches the limiter
      expect((await get(key)).status).toBe(429);
    }
    const view = (await (await adminLimit(t)).json()) as { usage: Array<{ used: number }> };
    expect(view.usage[0]?.used).toBe(2);
  });
});

describe("rate limiting: isolation", () => {
  it("keeps one tenant's exhausted budget from affecting another", async () => {
    const a = await tenantWithKey("rl-iso-a", [{ name: "burst", limit: 2, window: "1m" }]);
    const b = await tenantWithKey("rl-iso-b", [{ name: "burst", limit: 2, window: "1m" }]);
    expect(await statuses(a.key, 3)).toEqual([200, 200, 429]);
    expect(await statuses(b.key, 3)).toEqual([200, 200, 429]);
  });

  it("counts against the credential's tenant whatever X-OneStack-Tenant-Id, path or query say", async () => {
    const victim = await tenantWithKey("rl-victim", [{ name: "burst", limit: 2, window: "1m" }]);
    const attacker = await tenantWithKey("rl-attacker", [{ name: "burst", limit: 1000, window: "1m" }]);
    const spoof = { "x-onestack-tenant-id": victim.t };
    for (let i = 0; i < 4; i++) {
      const id = rid("spoof");
      const res = await get(attacker.key, id, spoof, `/psa/tickets?tenantId=${victim.t}&tenant=${victim.t}`);
      expect(res.status).toBe(200);
      expect((await recorded("psa", id))[0]?.headers["x-onestack-tenant-id"]).toBe(attacker.t);
    }
    expect(await statuses(victim.key, 3)).toEqual([200, 200, 429]);
    // An exhausted tenant cannot escape its limit by naming another tenant.
    const escaped = await get(victim.key, rid("escape"), { "x-onestack-tenant-id": attacker.t });
    expect(escaped.status).toBe(429);
  });
});

describe("rate limiting: revocation", () => {
  it("refuses a key revoked through the admin API on the very next request", async () => {
    const { t, key, keyId } = await tenantWithKey("rl-revoke");
    expect((await get(key)).status).toBe(200);
    const del = await call(`/__gateway/admin/tenants/${t}/keys/${keyId}`, { method: "DELETE", headers: ADMIN });
    expect(del.status).toBe(200);
    const id = rid("revoked");
    const res = await get(key, id);
    expect(res.status).toBe(401);
    expect((await envelope(res)).code).toBe("UNAUTHORIZED");
    expect(await recorded("psa", id)).toHaveLength(0);
  });

  it("refuses a key revoked at the limiter once the lease in hand ends, even while the isolate still trusts its record", async () => {
    const { t, key, keyId } = await tenantWithKey("rl-revoke-do");
    const { key: other } = await createKey(t, { psa: "read" });
    const clock = { now: Date.now() };
    setLeaseClock(() => clock.now);
    expect((await get(key)).status).toBe(200); // the key record is now cached in this isolate, and a lease is held
    await env.TENANT_LIMITER.getByName(t).revokeKey(keyId);
    clock.now += 1_000; // one lease life (RATE_LIMIT_LEASE_MS) later, at the latest
    const id = rid("revoked-do");
    const res = await get(key, id);
    expect(res.status).toBe(401);
    expect((await envelope(res)).code).toBe("UNAUTHORIZED");
    expect(await recorded("psa", id)).toHaveLength(0);
    expect((await get(other)).status).toBe(200);
  });
});

describe("rate limiting: exact in both directions (issue 18)", () => {
  /** The tenant's object and this isolate's holders on one injected clock, lease ends included. */
  async function sharedTime(t: string) {
    const time = leaseTime(1_800_000_000_000);
    await runInDurableObject(env.TENANT_LIMITER.getByName(t), (instance: TenantLimiter) => {
      instance.clock = () => time.now();
    });
    onTestFinished(() => time.end());
    return time;
  }

  it("limit 4: key A, key B, a session and key A again are admitted; the 5th is refused with a Retry-After that is true", async () => {
    const { t, key: keyA } = await tenantWithKey("rl-both-keys", [{ name: "burst", limit: 4, window: "1m" }]);
    const { key: keyB } = await createKey(t, { psa: "write" });
    const token = await sessionToken(t, ["psa:tickets.read"]);
    const time = await sharedTime(t);
    const session = () => call("/psa/tickets", { headers: { authorization: `Bearer ${token}` } });
    expect([(await get(keyA)).status, (await get(keyB)).status, (await session()).status, (await get(keyA)).status]).toEqual([200, 200, 200, 200]);
    const refused = await get(keyB);
    expect(refused.status).toBe(429);
    const retryAfter = Number(refused.headers.get("retry-after"));
    expect((await envelope(refused)).details).toMatchObject({ limit: 4, window: "1m", retryAfter });
    const refusedAt = time.now();
    time.advance((retryAfter - 1) * 1000);
    expect((await get(keyA)).status).toBe(429); // a second early: still full
    time.advance(refusedAt + retryAfter * 1000 - time.now());
    expect((await get(keyA)).status).toBe(200); // exactly then: admitted
  });

  it("a hog key stops and another key of the tenant gets the rest of the budget: the hog's unused permits come back at its leases' end", async () => {
    const { t, key: hog } = await tenantWithKey("rl-both-hog", [{ name: "burst", limit: 120, window: "1m" }]);
    const { key: other } = await createKey(t, { psa: "write" });
    const time = await sharedTime(t);
    const limiter = env.TENANT_LIMITER.getByName(t);
    const defaults = [{ name: "default", limit: 100, windowSec: 60 }];
    for (let i = 0; i < 100; i++) expect((await get(hog)).status).toBe(200);
    // The hog's isolate leased ahead of its need (2 a lease at 120 a minute: L/W x T), so more than 100 count.
    expect((await limiter.status(defaults)).states[0]?.used).toBeGreaterThan(100);
    time.advance(1_000); // the hog has stopped; its last lease ends and gives back what it did not use
    await vi.waitFor(async () => expect((await limiter.status(defaults)).states[0]?.used).toBe(100));
    expect(await statuses(other, 20)).toEqual(Array<number>(20).fill(200));
    expect((await get(other)).status).toBe(429);
  });

  it("a request refused while another isolate's permits are parked is told to come back when they return, not a window later, and is admitted then", async () => {
    const { t, key } = await tenantWithKey("rl-parked", [{ name: "burst", limit: 60, window: "1m" }]);
    const time = await sharedTime(t);
    const limiter = env.TENANT_LIMITER.getByName(t);
    const defaults = [{ name: "default", limit: 100, windowSec: 60 }];
    // Another isolate (its own holder, as in another location) leases 1 permit for its request and 10 ahead, then goes quiet.
    const other = await leaseExchange(limiter, { holderId: "iso-elsewhere", keyId: null, want: 30, need: 1, min: 1, ttlMs: 10_000, defaults, reports: [], revocationCursor: 0 });
    expect(other.lease?.permits).toBe(11);
    const here = await statuses(key, 50);
    expect(here.filter((s) => s === 200)).toHaveLength(49);
    const refused = await get(key);
    expect(refused.status).toBe(429);
    const retryAfter = Number(refused.headers.get("retry-after"));
    expect(retryAfter).toBeLessThanOrEqual(11); // its lease's end (10 s) and the report's trip; the buckets alone would say ~70 s
    // That isolate's lease ends: it reports the one permit it used, and gives back the ten.
    time.advance(10_000);
    await leaseExchange(limiter, { holderId: "iso-elsewhere", keyId: null, want: 0, need: 0, min: 0, ttlMs: 10_000, defaults, reports: [{ id: other.lease?.id ?? "", used: 1, lastUseOffsetMs: 0, uses: [{ offsetMs: 0, count: 1 }] }], revocationCursor: 0 });
    time.advance(retryAfter * 1000 - 10_000);
    expect((await get(key)).status).toBe(200);
  });

  it("after a limit is raised, the holder leases ahead again: ten requests, at most three calls to the object", async () => {
    const { t, key } = await tenantWithKey("rl-both-raise", [{ name: "burst", limit: 2, window: "1m" }]);
    const time = await sharedTime(t);
    expect(await statuses(key, 3)).toEqual([200, 200, 429]);
    // Raised at the object (as an admin call through another isolate would): this isolate learns it at its next exchange.
    await runInDurableObject(env.TENANT_LIMITER.getByName(t), (instance: TenantLimiter) => instance.setPolicies([{ name: "burst", limit: 6000, windowSec: 60 }]));
    time.advance(1_000); // the cached refusal lasts one lease life at most
    const calls = await countLimiterCalls(t);
    expect(await statuses(key, 10)).toEqual(Array<number>(10).fill(200));
    expect(calls("exchange")).toBeLessThanOrEqual(3);
  });
});
