/**
 * Per-tenant limits as a product, through the real Worker and the tenant's real Durable Object: per-key
 * policies inside the tenant's, route costs, shadow policies, the self-service view and the reads-open fail
 * policy. Time is one injected clock for the object and this isolate's lease holders.
 */
import { createExecutionContext, runInDurableObject, waitOnExecutionContext } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { afterEach, describe, expect, it } from "vitest";
import worker from "../../src/index";
import { setLeaseClock } from "../../src/ratelimit/admission";
import type { TenantLimiter } from "../../src/ratelimit/tenant-limiter";
import { ADMIN, call, createKey, envelope, portalToken, recorded, rid, sessionToken, tenant } from "../support/gateway";
import { answeredAt } from "../support/deadline";
import { silentLimiter } from "../support/silent-bindings";
import { callWith, envWith } from "../support/worker";

type PolicyInput = { name: string; limit: number; window: string; mode?: string };

async function put(path: string, policies: PolicyInput[]): Promise<Response> {
  return call(path, { method: "PUT", headers: { ...ADMIN, "content-type": "application/json" }, body: JSON.stringify({ policies }) });
}

/** A tenant with a Read/Write PSA key, the tenant's policies set, and one clock for its object and this isolate. */
async function setup(label: string, tenantPolicies: PolicyInput[]) {
  const t = tenant(label);
  const { key, keyId } = await createKey(t, { psa: "write" });
  expect((await put(`/__gateway/admin/tenants/${t}/rate-limit`, tenantPolicies)).status).toBe(200);
  const clock = { now: 1_800_000_000_000 };
  await runInDurableObject(env.TENANT_LIMITER.getByName(t), (o: TenantLimiter) => {
    o.clock = () => clock.now;
  });
  setLeaseClock(() => clock.now);
  return { t, key, keyId, clock };
}

const get = (key: string, path = "/psa/tickets", id = rid("lp")) => call(path, { headers: { "x-integration-key": key, "x-request-id": id } });

async function statuses(key: string, n: number, path?: string): Promise<number[]> {
  const out: number[] = [];
  for (let i = 0; i < n; i++) out.push((await get(key, path)).status);
  return out;
}

async function usage(t: string): Promise<Record<string, number>> {
  const view = (await (await call(`/__gateway/admin/tenants/${t}/rate-limit`, { headers: ADMIN })).json()) as { usage: Array<{ name: string; used: number }> };
  return Object.fromEntries(view.usage.map((u) => [u.name, u.used]));
}

afterEach(() => setLeaseClock(null));

describe("per-key policies", () => {
  it("admits exactly the smaller of the key's and the tenant's limits, and names the key policy that refused", async () => {
    const { t, key, keyId } = await setup("lp-key", [{ name: "burst", limit: 10, window: "1m" }]);
    const res = await put(`/__gateway/admin/tenants/${t}/keys/${keyId}/rate-limit`, [{ name: "burst", limit: 3, window: "1m" }]);
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ tenantId: t, keyId, overridden: true, policies: [{ name: "burst", limit: 3, window: "1m", mode: "enforce" }] });
    expect(await statuses(key, 4)).toEqual([200, 200, 200, 429]);
    const refused = await get(key);
    const body = await envelope(refused);
    expect(body.details).toMatchObject({ limit: 3, window: "1m", policy: "burst", scope: "key" });
    expect(refused.headers.get("ratelimit-policy")).toBe('"burst";q=10;w=60, "key:burst";q=3;w=60');
    // Another key of the tenant draws on the tenant's budget only.
    const other = await createKey(t, { psa: "read" });
    expect(await statuses(other.key, 7)).toEqual([200, 200, 200, 200, 200, 200, 200]);
    expect((await get(other.key)).status).toBe(429);
  });

  it("charges none of the policies when one refuses", async () => {
    const { t, key, keyId, clock } = await setup("lp-nocharge", [{ name: "burst", limit: 100, window: "1m" }]);
    await put(`/__gateway/admin/tenants/${t}/keys/${keyId}/rate-limit`, [{ name: "tiny", limit: 2, window: "1m" }]);
    expect(await statuses(key, 2)).toEqual([200, 200]);
    for (let i = 0; i < 5; i++) {
      clock.now += 1_000; // past each cached refusal: every one reaches the object
      expect((await get(key)).status).toBe(429);
    }
    clock.now += 1_000; // past the last lease's life, so its report has come back
    const u = await usage(t);
    expect(u.burst).toBe(2);
  });

  it("lists the tenant's keys with their own policies, and resets a key's policies", async () => {
    const { t, keyId } = await setup("lp-list", [{ name: "burst", limit: 10, window: "1m" }]);
    await put(`/__gateway/admin/tenants/${t}/keys/${keyId}/rate-limit`, [{ name: "k", limit: 3, window: "1m" }]);
    const view = (await (await call(`/__gateway/admin/tenants/${t}/rate-limit`, { headers: ADMIN })).json()) as { keysWithPolicies: string[] };
    expect(view.keysWithPolicies).toEqual([keyId]);
    const reset = await call(`/__gateway/admin/tenants/${t}/keys/${keyId}/rate-limit`, { method: "DELETE", headers: ADMIN });
    expect(await reset.json()).toMatchObject({ overridden: false, policies: [] });
    const after = (await (await call(`/__gateway/admin/tenants/${t}/rate-limit`, { headers: ADMIN })).json()) as { keysWithPolicies: string[] };
    expect(after.keysWithPolicies).toEqual([]);
  });

  it("answers 404 NOT_FOUND for a key the tenant does not have, and sets nothing", async () => {
    const { t } = await setup("lp-unknown-key", [{ name: "burst", limit: 10, window: "1m" }]);
    const other = await createKey(tenant("lp-other"), { psa: "read" });
    const res = await put(`/__gateway/admin/tenants/${t}/keys/${other.keyId}/rate-limit`, [{ name: "k", limit: 3, window: "1m" }]);
    expect(res.status).toBe(404);
    expect((await envelope(res)).details).toMatchObject({ resourceType: "integrationKey", resourceId: other.keyId });
    const view = (await (await call(`/__gateway/admin/tenants/${t}/rate-limit`, { headers: ADMIN })).json()) as { keysWithPolicies: string[] };
    expect(view.keysWithPolicies).toEqual([]);
  });

  it("refuses a tenant override whose policies are all shadow with VALIDATION_ERROR on policies, and keeps the limits it had", async () => {
    const { t, key } = await setup("lp-all-shadow", [{ name: "burst", limit: 3, window: "1m" }]);
    const res = await put(`/__gateway/admin/tenants/${t}/rate-limit`, [{ name: "trial", limit: 5, window: "1m", mode: "shadow" }]);
    expect(res.status).toBe(400);
    const body = await envelope(res);
    expect(body.code).toBe("VALIDATION_ERROR");
    expect(Object.keys((body.details as { fields: Record<string, string> }).fields)).toEqual(["policies"]);
    expect(await statuses(key, 4)).toEqual([200, 200, 200, 429]);
  });

  it("accepts a key's own policies that are all shadow: the tenant's still apply", async () => {
    const { t, key, keyId } = await setup("lp-key-shadow", [{ name: "burst", limit: 3, window: "1m" }]);
    expect((await put(`/__gateway/admin/tenants/${t}/keys/${keyId}/rate-limit`, [{ name: "trial", limit: 1, window: "1m", mode: "shadow" }])).status).toBe(200);
    expect(await statuses(key, 4)).toEqual([200, 200, 200, 429]);
  });

  it.each([
    [[{ name: "k", limit: 3, window: "1m", mode: "dry-run" }], "policies[0].mode"],
    [[{ name: "k", limit: 0, window: "1m" }], "policies[0].limit"],
  ])("refuses bad key policies %j with VALIDATION_ERROR naming %s", async (policies, field) => {
    const { t, keyId } = await setup("lp-invalid", [{ name: "burst", limit: 10, window: "1m" }]);
    const res = await put(`/__gateway/admin/tenants/${t}/keys/${keyId}/rate-limit`, policies as PolicyInput[]);
    expect(res.status).toBe(400);
    const body = await envelope(res);
    expect(body.code).toBe("VALIDATION_ERROR");
    expect(Object.keys((body.details as { fields: Record<string, string> }).fields)).toEqual([field]);
  });
});

describe("route costs", () => {
  it("takes a route's cost of every policy: a cost-10 route at L=25 admits twice, then refuses with a truthful Retry-After", async () => {
    const { key, clock } = await setup("lp-cost", [{ name: "units", limit: 25, window: "1m" }]);
    const first = await get(key, "/psa/exports/tickets");
    expect(first.status).toBe(200);
    expect(first.headers.get("ratelimit")).toMatch(/^"units";r=15;t=\d+$/);
    expect((await get(key, "/psa/exports/tickets")).status).toBe(200);
    const refused = await get(key, "/psa/exports/tickets");
    expect(refused.status).toBe(429);
    const retryAfter = Number(refused.headers.get("retry-after"));
    expect((await envelope(refused)).details).toMatchObject({ limit: 25, retryAfter });
    // Five units are left: a cost-1 route still fits.
    expect((await get(key)).status).toBe(200);
    const refusedAt = clock.now;
    clock.now = refusedAt + (retryAfter - 1) * 1000;
    expect((await get(key, "/psa/exports/tickets")).status).toBe(429);
    clock.now = refusedAt + retryAfter * 1000;
    expect((await get(key, "/psa/exports/tickets")).status).toBe(200);
  });
});

describe("shadow policies", () => {
  it("never refuses on a shadow policy, shows it to no client, and logs which would have refused", async () => {
    const { t, key } = await setup("lp-shadow", [
      { name: "burst", limit: 100, window: "1m" },
      { name: "lower", limit: 2, window: "1m", mode: "shadow" },
    ]);
    const logs: string[] = [];
    const original = console.log;
    console.log = (line: unknown) => logs.push(String(line));
    try {
      expect(await statuses(key, 6)).toEqual([200, 200, 200, 200, 200, 200]);
    } finally {
      console.log = original;
    }
    const res = await get(key);
    expect(res.headers.get("ratelimit-policy")).toBe('"burst";q=100;w=60');
    const lines = logs.map((l) => JSON.parse(l) as { msg: string; shadowViolated?: string[] }).filter((l) => l.msg === "request");
    // The first two fit the shadow limit of 2; every later one would have been refused by it.
    expect(lines.map((l) => l.shadowViolated ?? [])).toEqual([[], [], ["lower"], ["lower"], ["lower"], ["lower"]]);
    expect((await usage(t)).lower).toBeGreaterThanOrEqual(6); // recorded like an enforced policy
  });
});

describe("self-service view", () => {
  it("shows the caller's enforced policies with scope and remaining, never a shadow one, and spends no quota however often it is called", async () => {
    const { t, key, keyId, clock } = await setup("lp-view", [
      { name: "burst", limit: 5, window: "1m" },
      { name: "trial", limit: 3, window: "1m", mode: "shadow" },
    ]);
    await put(`/__gateway/admin/tenants/${t}/keys/${keyId}/rate-limit`, [{ name: "mine", limit: 4, window: "1h" }]);
    for (let i = 0; i < 100; i++) {
      clock.now += 10;
      const res = await call("/__gateway/limits", { headers: { "x-integration-key": key } });
      expect(res.status).toBe(200);
    }
    const view = (await (await call("/__gateway/limits", { headers: { "x-integration-key": key } })).json()) as { tenantId: string; policies: Array<Record<string, unknown>> };
    expect(view.tenantId).toBe(t);
    expect(view.policies).toEqual([
      { name: "burst", limit: 5, window: "1m", mode: "enforce", scope: "tenant", remaining: 5, resetSeconds: 0 },
      { name: "mine", limit: 4, window: "1h", mode: "enforce", scope: "key", remaining: 4, resetSeconds: 0 },
    ]);
    expect(await statuses(key, 5)).toEqual([200, 200, 200, 200, 429]); // the key's 4 and nothing spent by the view
  });

  it("shows a user session the tenant's enforced policies with remaining, and a portal customer the policies without what remains", async () => {
    const { t, key } = await setup("lp-view-who", [
      { name: "burst", limit: 5, window: "1m" },
      { name: "trial", limit: 3, window: "1m", mode: "shadow" },
    ]);
    expect(await statuses(key, 2)).toEqual([200, 200]);
    const asSession = await call("/__gateway/limits", { headers: { authorization: `Bearer ${await sessionToken(t, ["tickets.read"])}` } });
    const asPortal = await call("/__gateway/limits", { headers: { authorization: `Bearer ${await portalToken(t, "cust_1")}` } });
    expect([asSession.status, asPortal.status]).toEqual([200, 200]);
    const session = (await asSession.json()) as { policies: Array<Record<string, unknown>> };
    expect(session.policies).toEqual([{ name: "burst", limit: 5, window: "1m", mode: "enforce", scope: "tenant", remaining: expect.any(Number), resetSeconds: expect.any(Number) }]);
    expect(session.policies[0]!.remaining).toBeLessThan(5); // the key's requests drew on the tenant's budget
    expect(await asPortal.json()).toEqual({ tenantId: t, policies: [{ name: "burst", limit: 5, window: "1m", mode: "enforce", scope: "tenant" }] });
  });

  it("sends a portal customer no RateLimit fields on product answers, and a 429 with Retry-After only", async () => {
    const { t } = await setup("lp-portal-headers", [{ name: "burst", limit: 2, window: "1m" }]);
    const token = await portalToken(t, "cust_1");
    const answers = [];
    for (let i = 0; i < 3; i++) answers.push(await call("/psa/portal/tickets", { headers: { authorization: `Bearer ${token}` } }));
    expect(answers.map((r) => r.status)).toEqual([200, 200, 429]);
    for (const res of answers) expect([res.headers.get("ratelimit"), res.headers.get("ratelimit-policy")]).toEqual([null, null]);
    expect(Number(answers[2]!.headers.get("retry-after"))).toBeGreaterThan(0);
    const asSession = await call("/psa/tickets", { headers: { authorization: `Bearer ${await sessionToken(t, ["psa:tickets.read"])}` } });
    expect(asSession.status).toBe(429);
    expect(asSession.headers.get("ratelimit")).toMatch(/^"burst";r=0;t=\d+$/); // the same budget, shown to a session
  });

  it("answers 503 SERVICE_UNAVAILABLE with Retry-After at ADMIN_STORE_TIMEOUT_MS when the tenant's object never answers", async () => {
    const { key } = await setup("lp-view-late", [{ name: "burst", limit: 5, window: "1m" }]);
    const limiter = silentLimiter("status");
    const res = await answeredAt(40, () => limiter.asked > 0, () => callWith(envWith({ TENANT_LIMITER: limiter, ADMIN_STORE_TIMEOUT_MS: "40" }), "/__gateway/limits", { headers: { "x-integration-key": key } }));
    expect(res.status).toBe(503);
    expect(res.headers.get("retry-after")).toBe("1");
    expect(await envelope(res)).toMatchObject({ code: "SERVICE_UNAVAILABLE", details: { limiter: "failed" } });
  });

  it("asks the object at most once a second per caller, and refuses a caller without a credential", async () => {
    const { key } = await setup("lp-view-abuse", [{ name: "burst", limit: 5, window: "1m" }]);
    let calls = 0;
    const counting = {
      getByName(name: string) {
        const real = env.TENANT_LIMITER.getByName(name);
        return {
          status(...args: Parameters<typeof real.status>) {
            calls += 1;
            return real.status(...args);
          },
        };
      },
    } as unknown as Env["TENANT_LIMITER"];
    for (let i = 0; i < 20; i++) {
      const ctx = createExecutionContext();
      const res = await worker.fetch(new Request("https://gateway.test/__gateway/limits", { headers: { "x-integration-key": key } }), { ...env, TENANT_LIMITER: counting } as Env, ctx);
      await waitOnExecutionContext(ctx);
      expect(res.status).toBe(200);
    }
    expect(calls).toBe(1);
    expect((await call("/__gateway/limits")).status).toBe(401);
  });
});

describe("fail policy per kind of request", () => {
  const unreachable = { idFromName: (name: string) => name, get: () => ({ exchange: () => Promise.reject(new Error("Durable Object unreachable")) }) } as unknown as Env["TENANT_LIMITER"];

  async function send(method: string, key: string, id: string): Promise<Response> {
    const ctx = createExecutionContext();
    const init: RequestInit = { method, headers: { "x-integration-key": key, "x-request-id": id, "content-type": "application/json" } };
    if (method === "POST") init.body = JSON.stringify({ title: "t", priority: "low" });
    const res = await worker.fetch(new Request("https://gateway.test/psa/tickets", init), { ...env, TENANT_LIMITER: unreachable, RATE_LIMIT_FAIL_MODE: "reads-open" } as Env, ctx);
    await waitOnExecutionContext(ctx);
    return res;
  }

  it("reads-open: admits reads and refuses writes with 503 and Retry-After while the limiter is unreachable", async () => {
    const t = tenant("lp-reads-open");
    const { key } = await createKey(t, { psa: "write" });
    const readId = rid("ro-get");
    const read = await send("GET", key, readId);
    expect(read.status).toBe(200);
    expect(await recorded("psa", readId)).toHaveLength(1);
    const writeId = rid("ro-post");
    const write = await send("POST", key, writeId);
    expect(write.status).toBe(503);
    expect(write.headers.get("retry-after")).toBe("1");
    expect((await envelope(write)).code).toBe("SERVICE_UNAVAILABLE");
    expect(await recorded("psa", writeId)).toHaveLength(0);
  });
});
