/**
 * Key roll: a successor with the same name and access, the old key valid until its grace deadline and
 * refused from that millisecond on (exactly, in an isolate that read the rolled record; through the
 * tenant's limiter, from the directory's alarm at the deadline, everywhere else). Time is injected on both
 * sides: the isolate's key clock and the directory shard's clock.
 */
import { runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { afterEach, describe, expect, it } from "vitest";
import type { KeyDirectory } from "../../src/auth/key-directory";
import { hashKey, shardForKeyId, type KeyRecord } from "../../src/auth/key-record";
import { setKeyClock } from "../../src/auth/key-store";
import { ADMIN, call, createKey, envelope, recorded, rid, tenant } from "../support/gateway";
import { freshAddress } from "../support/key-stores";
import { unavailableObject } from "../support/silent-bindings";
import { callWith, envWith } from "../support/worker";
import { leaseExchange } from "../support/lease-exchange";

const JSON_ADMIN = { ...ADMIN, "content-type": "application/json" };

afterEach(() => setKeyClock(null));

/** Sets the isolate's key clock and the shard's clock to `ms`. */
async function setTime(keyId: string, ms: number): Promise<void> {
  setKeyClock(() => ms);
  await runInDurableObject(env.KEY_DIRECTORY.getByName(shardForKeyId(keyId)), (instance: KeyDirectory) => {
    instance.clock = () => ms;
  });
}

function roll(t: string, keyId: string, body?: unknown): Promise<Response> {
  const init: RequestInit = body === undefined ? { method: "POST", headers: ADMIN } : { method: "POST", headers: JSON_ADMIN, body: JSON.stringify(body) };
  return call(`/__gateway/admin/tenants/${t}/keys/${keyId}/roll`, init);
}

async function status(key: string): Promise<number> {
  const id = rid("roll");
  const res = await call("/psa/tickets", { headers: { "x-integration-key": key, "x-request-id": id, "cf-connecting-ip": freshAddress() } });
  if (res.status !== 200) expect(await recorded("psa", id)).toEqual([]);
  return res.status;
}

type Listed = KeyRecord & { state: string };

async function list(t: string): Promise<Listed[]> {
  return ((await (await call(`/__gateway/admin/tenants/${t}/keys`, { headers: ADMIN })).json()) as { data: Listed[] }).data;
}

describe("key roll", () => {
  it("returns a successor with the same name and access; the old key works until the deadline and is refused from it", async () => {
    const t = tenant("roll");
    const old = await createKey(t, { psa: "write", rmm: "read" });
    const t0 = Math.ceil(Date.now() / 1000) * 1000 + 5_000;
    await setTime(old.keyId, t0);
    const res = await roll(t, old.keyId, { gracePeriod: "1h" });
    expect(res.status).toBe(201);
    expect(res.headers.get("cache-control")).toBe("no-store");
    const next = (await res.json()) as Listed & { key: string; previous: Listed };
    expect(next).toMatchObject({ tenantId: t, name: "test key", access: { psa: "write", rmm: "read" }, rolledFrom: old.keyId, state: "active" });
    expect(next.key).not.toBe(old.key);
    const deadline = t0 + 3_600_000;
    expect(next.previous).toMatchObject({ keyId: old.keyId, rolledTo: next.keyId, graceUntil: new Date(deadline).toISOString(), state: "rolling" });

    expect(await list(t)).toEqual([
      expect.objectContaining({ keyId: old.keyId, state: "rolling", rolledTo: next.keyId, rolledFrom: null }),
      expect.objectContaining({ keyId: next.keyId, state: "active", rolledTo: null, rolledFrom: old.keyId }),
    ]);
    setKeyClock(() => deadline - 1);
    expect([await status(old.key), await status(next.key)]).toEqual([200, 200]);
    setKeyClock(() => deadline);
    expect([await status(old.key), await status(next.key)]).toEqual([401, 200]);
    expect((await list(t)).map((k) => k.state)).toEqual(["revoked", "active"]);
  });

  it("ends the grace period everywhere: at the deadline the directory revokes the old key in KV and in the tenant's limiter", async () => {
    const t = tenant("roll-alarm");
    const old = await createKey(t, { psa: "read" });
    const t0 = Date.now();
    await setTime(old.keyId, t0);
    expect((await roll(t, old.keyId, { gracePeriod: 600 })).status).toBe(201);
    const stub = env.KEY_DIRECTORY.getByName(shardForKeyId(old.keyId));
    const revocations = async () => (await leaseExchange(env.TENANT_LIMITER.getByName(t), { holderId: crypto.randomUUID(), keyId: null, want: 1, min: 1, ttlMs: 1000, defaults: [], reports: [], revocationCursor: 0 })).revoked;
    await runDurableObjectAlarm(stub); // the sync alarm before the deadline: nothing to revoke yet
    expect(await revocations()).toEqual([]);
    await setTime(old.keyId, t0 + 600_000);
    await runDurableObjectAlarm(stub);
    expect(await revocations()).toEqual([old.keyId]);
    const record = await env.KEYS.get<KeyRecord>(`key:${await hashKey(old.key)}`, "json");
    expect(record?.revokedAt).toBe(new Date(t0 + 600_000).toISOString());
  });

  it("without a grace period refuses the old key on the very next request, and tells the tenant's limiter", async () => {
    const t = tenant("roll-now");
    const old = await createKey(t, { psa: "read" });
    const res = await roll(t, old.keyId);
    expect(res.status).toBe(201);
    const next = (await res.json()) as { key: string; propagation: unknown };
    expect(next.propagation).toEqual({ directory: "written", kv: "written", limiter: "written" });
    expect([await status(old.key), await status(next.key)]).toEqual([401, 200]);
  });

  it.each([
    ["more than 7 days", "8d"],
    ["a negative number", -1],
    ["a fraction of a second", 1.5],
    ["prose", "1 hour"],
    ["a boolean", true],
    ["a unit it does not know", "1w"],
  ])("refuses a grace period of %s with VALIDATION_ERROR naming gracePeriod, and rolls nothing", async (_label, gracePeriod) => {
    const t = tenant("roll-bad");
    const old = await createKey(t, { psa: "read" });
    const res = await roll(t, old.keyId, { gracePeriod });
    expect(res.status).toBe(400);
    const e = await envelope(res);
    expect([e.code, Object.keys((e.details?.fields ?? {}) as object)]).toEqual(["VALIDATION_ERROR", ["gracePeriod"]]);
    expect((await list(t)).map((k) => k.state)).toEqual(["active"]);
  });

  it("reads an empty body with Content-Length: 0 and no Content-Type as no grace period", async () => {
    const t = tenant("roll-empty");
    const old = await createKey(t, { psa: "read" });
    const res = await call(`/__gateway/admin/tenants/${t}/keys/${old.keyId}/roll`, { method: "POST", headers: { ...ADMIN, "content-length": "0" }, body: new Uint8Array(0) });
    expect(res.status).toBe(201);
    expect(((await res.json()) as { previous: Listed }).previous.state).toBe("revoked");
  });

  it("accepts the longest grace period, 7 days", async () => {
    const t = tenant("roll-7d");
    const old = await createKey(t, { psa: "read" });
    expect((await roll(t, old.keyId, { gracePeriod: "7d" })).status).toBe(201);
  });

  it("refuses to roll a revoked key or one already rolled with 409 CONFLICT and its state", async () => {
    const t = tenant("roll-conflict");
    const a = await createKey(t, { psa: "read" });
    await call(`/__gateway/admin/tenants/${t}/keys/${a.keyId}`, { method: "DELETE", headers: ADMIN });
    const revoked = await roll(t, a.keyId);
    expect(revoked.status).toBe(409);
    expect((await envelope(revoked)).details).toMatchObject({ resourceId: a.keyId, state: "revoked" });
    const b = await createKey(t, { psa: "read" });
    const first = (await (await roll(t, b.keyId, { gracePeriod: "1h" })).json()) as { keyId: string };
    const again = await roll(t, b.keyId, { gracePeriod: "1h" });
    expect(again.status).toBe(409);
    expect((await envelope(again)).details).toMatchObject({ resourceId: b.keyId, state: "rolling", rolledTo: first.keyId });
  });

  it("answers 404 for another tenant's key, which keeps working unrolled", async () => {
    const owner = tenant("roll-owner");
    const { key, keyId } = await createKey(owner, { psa: "read" });
    const res = await roll(tenant("roll-other"), keyId, { gracePeriod: "1h" });
    expect(res.status).toBe(404);
    expect((await envelope(res)).code).toBe("NOT_FOUND");
    expect(await status(key)).toBe(200);
    expect((await list(owner)).map((k) => k.state)).toEqual(["active"]);
  });

  const keyLimit = (t: string, keyId: string) => `/__gateway/admin/tenants/${t}/keys/${keyId}/rate-limit`;
  const burst3 = [{ name: "burst", limit: 3, window: "1m" }];

  it("carries the key's own policies to its successor: the successor is admitted 3 times then refused, like the old key", async () => {
    const t = tenant("roll-policies");
    const old = await createKey(t, { psa: "read" });
    expect((await call(keyLimit(t, old.keyId), { method: "PUT", headers: JSON_ADMIN, body: JSON.stringify({ policies: burst3 }) })).status).toBe(200);
    const res = await roll(t, old.keyId, { gracePeriod: "1h" });
    expect(res.status).toBe(201);
    const next = (await res.json()) as { key: string; keyId: string; propagation: unknown };
    expect(next.propagation).toEqual({ directory: "written", kv: "written", limiter: "written" });
    const view = await call(keyLimit(t, next.keyId), { headers: ADMIN });
    expect(await view.json()).toMatchObject({ keyId: next.keyId, overridden: true, policies: [{ name: "burst", limit: 3, window: "1m", mode: "enforce" }] });
    const statuses = async (key: string) => [await status(key), await status(key), await status(key), await status(key)];
    expect(await statuses(old.key)).toEqual([200, 200, 200, 429]);
    expect(await statuses(next.key)).toEqual([200, 200, 200, 429]);
  });

  it("carries the key's expiry to its successor", async () => {
    const t = tenant("roll-expiry");
    const expiresAt = new Date(Date.now() + 30 * 86_400_000).toISOString();
    const old = await createKey(t, { psa: "read" }, { expiresAt });
    const next = (await (await roll(t, old.keyId, { gracePeriod: "1h" })).json()) as Listed;
    expect(next.expiresAt).toBe(expiresAt);
  });

  it("copies the policies from the directory's alarm when the tenant's object failed them at the roll", async () => {
    const t = tenant("roll-policies-late");
    const old = await createKey(t, { psa: "read" });
    expect((await call(keyLimit(t, old.keyId), { method: "PUT", headers: JSON_ADMIN, body: JSON.stringify({ policies: burst3 }) })).status).toBe(200);
    const failing = { getByName: () => ({ inheritKeyPolicies: () => Promise.reject(unavailableObject({ overloaded: true })) }) };
    const res = await callWith(envWith({ TENANT_LIMITER: failing }), `/__gateway/admin/tenants/${t}/keys/${old.keyId}/roll`, { method: "POST", headers: JSON_ADMIN, body: JSON.stringify({ gracePeriod: "1h" }) });
    expect(res.status).toBe(201); // the roll happened: its plaintext is answered, the failed step named
    const next = (await res.json()) as { keyId: string; propagation: unknown };
    expect(next.propagation).toEqual({ directory: "written", kv: "written", limiter: "failed" });
    expect(await (await call(keyLimit(t, next.keyId), { headers: ADMIN })).json()).toMatchObject({ overridden: false });
    await runDurableObjectAlarm(env.KEY_DIRECTORY.getByName(shardForKeyId(old.keyId)));
    expect(await (await call(keyLimit(t, next.keyId), { headers: ADMIN })).json()).toMatchObject({ overridden: true, policies: [{ name: "burst", limit: 3 }] });
    // Once copied, never again: policies the operator changed on the successor stay as set.
    expect((await call(keyLimit(t, next.keyId), { method: "DELETE", headers: ADMIN })).status).toBe(200);
    await runDurableObjectAlarm(env.KEY_DIRECTORY.getByName(shardForKeyId(old.keyId)));
    expect(await (await call(keyLimit(t, next.keyId), { headers: ADMIN })).json()).toMatchObject({ overridden: false });
  });

  it("records the roll with the old key's state before, and after the successor, the policies it carries and the old key's new state", async () => {
    const t = tenant("roll-audit");
    const old = await createKey(t, { psa: "read" });
    expect((await call(keyLimit(t, old.keyId), { method: "PUT", headers: JSON_ADMIN, body: JSON.stringify({ policies: burst3 }) })).status).toBe(200);
    const next = (await (await roll(t, old.keyId, { gracePeriod: "1h" })).json()) as { key: string; keyId: string };
    const trail = (await (await call(`/__gateway/admin/tenants/${t}/audit`, { headers: ADMIN })).json()) as { data: Array<{ action: string; keyId: string; before: unknown; after: unknown }> };
    const [rolled] = trail.data;
    expect(rolled).toMatchObject({
      action: "key.rolled",
      keyId: old.keyId,
      before: { keyId: old.keyId, state: "active", rolledTo: null, graceUntil: null, revokedAt: null },
      after: {
        keyId: next.keyId,
        rolledFrom: old.keyId,
        policies: [{ name: "burst", limit: 3, window: "1m", mode: "enforce", scope: "key" }],
        previous: { keyId: old.keyId, state: "rolling", rolledTo: next.keyId },
      },
    });
    expect(JSON.stringify(trail)).not.toContain(next.key);
  });
});
