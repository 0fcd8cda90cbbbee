/**
 * The audit trail says what happened, all of it, once (issue 19, items 4-7): no entry for a change that did
 * not happen (an unknown key, a repeat, a store that failed, a no-op), `before`/`after` exactly what each
 * change replaced and produced under concurrency, retention that a flood of no-ops cannot flush and whose
 * evictions show, one shape for policies, and the gateway's own request id.
 */
import { runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { MAX_AGE_MS, MAX_ENTRIES, type AuditInput } from "../../src/audit/audit-log";
import type { TenantLimiter } from "../../src/ratelimit/tenant-limiter";
import { ADMIN, call, createKey, envelope, tenant } from "../support/gateway";
import { brokenDirectory, wrappedKv } from "../support/key-stores";
import { callWith, envWith } from "../support/worker";

interface Entry { id: number; action: string; keyId: string | null; before: unknown; after: unknown; requestId: string }
interface Page { data: Entry[]; nextCursor: string | null; retention: { maxEntries: number; maxAgeDays: number; evicted: number; oldestKeptAt: string | null } }

const json = { ...ADMIN, "content-type": "application/json" };
type PolicyInput = { name: string; limit: number; window: string; mode?: string };

const put = (path: string, policies: PolicyInput[], headers: Record<string, string> = {}) =>
  call(path, { method: "PUT", headers: { ...json, ...headers }, body: JSON.stringify({ policies }) });
const del = (path: string) => call(path, { method: "DELETE", headers: ADMIN });

async function trail(t: string, limit = 100): Promise<Page> {
  const res = await call(`/__gateway/admin/tenants/${t}/audit?limit=${limit}`, { headers: ADMIN });
  expect(res.status).toBe(200);
  return (await res.json()) as Page;
}

describe("no entry for a change that did not happen", () => {
  it("answers 404 to GET, PUT and DELETE of a key's limit for a key the tenant does not have, and records nothing", async () => {
    const t = tenant("trail-unknown");
    const other = await createKey(tenant("trail-other"), { psa: "read" });
    const path = `/__gateway/admin/tenants/${t}/keys/${other.keyId}/rate-limit`;
    for (const res of [await call(path, { headers: ADMIN }), await put(path, [{ name: "k", limit: 3, window: "1m" }]), await del(path)]) {
      expect(res.status).toBe(404);
      expect(await envelope(res)).toMatchObject({ code: "NOT_FOUND", details: { resourceType: "integrationKey", resourceId: other.keyId } });
    }
    expect((await trail(t)).data).toEqual([]);
  });

  it("records a revocation once: revoking a revoked key answers the first revocation and writes no second entry", async () => {
    const t = tenant("trail-revoke");
    const { keyId } = await createKey(t, { psa: "read" });
    const first = await del(`/__gateway/admin/tenants/${t}/keys/${keyId}`);
    const second = await del(`/__gateway/admin/tenants/${t}/keys/${keyId}`);
    expect([first.status, second.status]).toEqual([200, 200]);
    expect(((await second.json()) as { revokedAt: string }).revokedAt).toBe(((await first.json()) as { revokedAt: string }).revokedAt);
    expect((await trail(t)).data.map((e) => e.action)).toEqual(["key.revoked", "key.created"]);
  });

  it("records nothing for a refused roll (409) or an oversized body (413)", async () => {
    const t = tenant("trail-refused");
    const { keyId } = await createKey(t, { psa: "read" });
    expect((await del(`/__gateway/admin/tenants/${t}/keys/${keyId}`)).status).toBe(200);
    expect((await call(`/__gateway/admin/tenants/${t}/keys/${keyId}/roll`, { method: "POST", headers: ADMIN })).status).toBe(409);
    expect((await call(`/__gateway/admin/tenants/${t}/rate-limit`, { method: "PUT", headers: json, body: JSON.stringify({ policies: [{ name: "burst", limit: 5, window: "1m", pad: "x".repeat(20_000) }] }) })).status).toBe(413);
    expect((await trail(t)).data.map((e) => e.action)).toEqual(["key.revoked", "key.created"]);
  });

  it("records one revocation for 4 concurrent revocations of a key", async () => {
    const t = tenant("trail-revoke-race");
    const { keyId } = await createKey(t, { psa: "read" });
    const answers = await Promise.all([1, 2, 3, 4].map(() => del(`/__gateway/admin/tenants/${t}/keys/${keyId}`)));
    expect(answers.map((r) => r.status)).toEqual([200, 200, 200, 200]);
    expect((await trail(t)).data.map((e) => e.action)).toEqual(["key.revoked", "key.created"]);
  });

  it("records nothing when the key directory fails a revocation (503): nothing changed", async () => {
    const t = tenant("trail-dir503");
    const { keyId } = await createKey(t, { psa: "read" });
    const res = await callWith(envWith({ KEY_DIRECTORY: brokenDirectory() }), `/__gateway/admin/tenants/${t}/keys/${keyId}`, { method: "DELETE", headers: ADMIN });
    expect(res.status).toBe(503);
    expect((await envelope(res)).details).toEqual({ directory: "failed" });
    expect((await trail(t)).data.map((e) => e.action)).toEqual(["key.created"]);
  });

  it("records a revocation that reached the directory but not KV (503 with propagation): it happened", async () => {
    const t = tenant("trail-rev-kv");
    const { keyId } = await createKey(t, { psa: "read" });
    const res = await callWith(envWith({ KEYS: wrappedKv({ failPuts: true }).kv }), `/__gateway/admin/tenants/${t}/keys/${keyId}`, { method: "DELETE", headers: ADMIN });
    expect(res.status).toBe(503);
    expect((await envelope(res)).details).toMatchObject({ keyId, directory: "written", kv: "failed" });
    const [revoked] = (await trail(t)).data;
    expect(revoked).toMatchObject({ action: "key.revoked", keyId, before: { revokedAt: null, state: "active" }, after: { revokedAt: expect.any(String), state: "revoked" } });
    expect((await del(`/__gateway/admin/tenants/${t}/keys/${keyId}`)).status).toBe(200); // the retry completes it, and records nothing more
    expect((await trail(t)).data.map((e) => e.action)).toEqual(["key.revoked", "key.created"]);
  });

  it("records nothing for a change that leaves the policies as they were: a reset of the default, a repeated PUT", async () => {
    const t = tenant("trail-noop");
    const path = `/__gateway/admin/tenants/${t}/rate-limit`;
    expect((await del(path)).status).toBe(200);
    expect((await put(path, [{ name: "burst", limit: 5, window: "1m" }])).status).toBe(200);
    expect((await put(path, [{ name: "burst", limit: 5, window: "60s" }])).status).toBe(200);
    expect((await trail(t)).data.map((e) => e.action)).toEqual(["rate-limit.set"]);
  });

  // A bound on the test's run time only (1,000 requests on a shared machine), not an assertion about speed.
  it("cannot be flushed: 1,000 no-op DELETEs evict nothing, and a key's created and revoked entries stay", { timeout: 120_000 }, async () => {
    const t = tenant("trail-flush");
    const { keyId } = await createKey(t, { psa: "read" });
    const unknown = await createKey(tenant("trail-flush-other"), { psa: "read" });
    expect((await del(`/__gateway/admin/tenants/${t}/keys/${keyId}`)).status).toBe(200);
    const noOps = [
      [`/__gateway/admin/tenants/${t}/rate-limit`, 200],
      [`/__gateway/admin/tenants/${t}/keys/${keyId}/rate-limit`, 200],
      [`/__gateway/admin/tenants/${t}/keys/${unknown.keyId}/rate-limit`, 404],
      [`/__gateway/admin/tenants/${t}/keys/${keyId}`, 200],
    ] as const;
    for (let i = 0; i < 1000; i += 8) {
      const batch = Array.from({ length: Math.min(8, 1000 - i) }, (_, j) => noOps[(i + j) % noOps.length]!);
      const answers = await Promise.all(batch.map(([path]) => del(path)));
      expect(answers.map((r) => r.status)).toEqual(batch.map(([, status]) => status));
    }
    const page = await trail(t);
    expect(page.data.map((e) => [e.action, e.keyId])).toEqual([["key.revoked", keyId], ["key.created", keyId]]);
    expect(page.retention).toMatchObject({ maxEntries: MAX_ENTRIES, maxAgeDays: 90, evicted: 0 });
  });
});

describe("before and after are exactly what the change replaced and produced", () => {
  it("records a switch from enforce to shadow with the mode on both sides, every policy as {name, limit, window, mode, scope}", async () => {
    const t = tenant("trail-mode");
    const { keyId } = await createKey(t, { psa: "read" });
    const tenantPath = `/__gateway/admin/tenants/${t}/rate-limit`;
    const keyPath = `/__gateway/admin/tenants/${t}/keys/${keyId}/rate-limit`;
    expect((await put(tenantPath, [{ name: "burst", limit: 5, window: "1m" }, { name: "day", limit: 50, window: "1d" }])).status).toBe(200);
    expect((await put(tenantPath, [{ name: "burst", limit: 5, window: "1m", mode: "shadow" }, { name: "day", limit: 50, window: "1d" }])).status).toBe(200);
    expect((await put(keyPath, [{ name: "mine", limit: 3, window: "90s", mode: "shadow" }])).status).toBe(200);
    expect((await del(keyPath)).status).toBe(200);
    const [keyReset, keySet, shadowed] = (await trail(t)).data;
    expect(shadowed).toMatchObject({
      action: "rate-limit.set",
      before: [{ name: "burst", limit: 5, window: "1m", mode: "enforce", scope: "tenant" }, { name: "day", limit: 50, window: "1d", mode: "enforce", scope: "tenant" }],
      after: [{ name: "burst", limit: 5, window: "1m", mode: "shadow", scope: "tenant" }, { name: "day", limit: 50, window: "1d", mode: "enforce", scope: "tenant" }],
    });
    expect(keySet).toMatchObject({ action: "key-rate-limit.set", keyId, before: null, after: [{ name: "mine", limit: 3, window: "90s", mode: "shadow", scope: "key" }] });
    expect(keyReset).toMatchObject({ action: "key-rate-limit.reset", keyId, before: [{ name: "mine", limit: 3, window: "90s", mode: "shadow", scope: "key" }], after: null });
  });

  it("gives each of 4 concurrent PUTs its own policies in after, and each before the after of the change it replaced", async () => {
    const t = tenant("trail-race");
    const path = `/__gateway/admin/tenants/${t}/rate-limit`;
    for (let round = 0; round < 3; round++) {
      const answers = await Promise.all([1, 2, 3, 4].map((i) => put(path, [{ name: "burst", limit: round * 10 + i, window: "1m" }])));
      expect(answers.map((r) => r.status)).toEqual([200, 200, 200, 200]);
    }
    const entries = (await trail(t)).data.reverse();
    expect(entries).toHaveLength(12);
    const limitOf = (policies: unknown) => (policies === null ? null : (policies as Array<{ limit: number }>)[0]!.limit);
    // Every request's own limit appears in exactly one entry's after ...
    expect(entries.map((e) => limitOf(e.after)).sort((a, b) => a! - b!)).toEqual([1, 2, 3, 4, 11, 12, 13, 14, 21, 22, 23, 24]);
    // ... and the entries chain: each before is the previous after.
    expect(entries.map((e) => limitOf(e.before))).toEqual([null, ...entries.slice(0, -1).map((e) => limitOf(e.after))]);
  });
});

describe("one shape", () => {
  it("shows entries written before the one shape with it: windowSec and missing mode and scope filled in", async () => {
    const t = tenant("trail-old");
    await runInDurableObject(env.TENANT_LIMITER.getByName(t), async (instance: TenantLimiter, state) => {
      await instance.listAudit({ limit: 1, before: null }); // creates the table
      const insert = "INSERT INTO audit (at, actor, action, key_id, before, after, request_id) VALUES (1800000000000, 'admin-secret', ?, ?, ?, ?, 'r')";
      state.storage.sql.exec(insert, "rate-limit.set", null, JSON.stringify([{ name: "burst", limit: 5, window: "1m" }]), JSON.stringify([{ name: "burst", limit: 5, window: "1m", mode: "shadow" }]));
      state.storage.sql.exec(insert, "key-rate-limit.set", "key_0123456789abcdef", "null", JSON.stringify([{ name: "mine", limit: 3, windowSec: 90 }]));
    });
    const [keySet, tenantSet] = (await trail(t)).data;
    expect(tenantSet).toMatchObject({ before: [{ name: "burst", limit: 5, window: "1m", mode: "enforce", scope: "tenant" }], after: [{ name: "burst", limit: 5, window: "1m", mode: "shadow", scope: "tenant" }] });
    expect(keySet).toMatchObject({ before: null, after: [{ name: "mine", limit: 3, window: "90s", mode: "enforce", scope: "key" }] });
  });
});

describe("retention", () => {
  const entry = (i: number): AuditInput => ({ actor: "test", action: "rate-limit.set", keyId: null, before: null, after: { i }, requestId: `r${i}` });
  const T0 = 1_800_000_000_000;

  it("says how many entries it evicted by count and by age, and when the oldest kept entry was made", async () => {
    const t = tenant("trail-evict");
    await runInDurableObject(env.TENANT_LIMITER.getByName(t), async (instance: TenantLimiter) => {
      let now = T0;
      instance.clock = () => now;
      for (let i = 1; i <= MAX_ENTRIES + 3; i++) {
        now = T0 + i;
        await instance.recordAudit(entry(i));
      }
      const counted = (await instance.listAudit({ limit: 1, before: null })).retention;
      expect(counted).toEqual({ maxEntries: MAX_ENTRIES, maxAgeDays: 90, evicted: 3, oldestKeptAt: new Date(T0 + 4).toISOString() });
      now = T0 + 10 + MAX_AGE_MS; // entries 1-9 (times T0+1..T0+9, of which 4-9 are still stored) pass the age bound
      expect((await instance.listAudit({ limit: 1, before: null })).retention).toMatchObject({ evicted: 9, oldestKeptAt: new Date(T0 + 10).toISOString() });
      await instance.recordAudit(entry(0)); // deleting them changes nothing in what is reported
      expect((await instance.listAudit({ limit: 1, before: null })).retention).toMatchObject({ evicted: 9, oldestKeptAt: new Date(T0 + 10).toISOString() });
    });
  });

  it("reports an empty trail as such", async () => {
    expect((await trail(tenant("trail-empty"))).retention).toEqual({ maxEntries: MAX_ENTRIES, maxAgeDays: 90, evicted: 0, oldestKeptAt: null });
  });
});

describe("the request id in the trail", () => {
  it("is the gateway's own, answered as X-Request-Id, never the client's X-Request-Id", async () => {
    const t = tenant("trail-rid");
    const res = await put(`/__gateway/admin/tenants/${t}/rate-limit`, [{ name: "burst", limit: 5, window: "1m" }], { "x-request-id": "client-chosen-0001" });
    expect(res.status).toBe(200);
    const answered = res.headers.get("x-request-id");
    expect(answered).not.toBe("client-chosen-0001");
    const [set] = (await trail(t)).data;
    expect(set?.requestId).toBe(answered);
  });

  it("is the gateway's own for an admin path written with percent-escapes too", async () => {
    // The key list: a tenant's limits answer 404 for a tenant the gateway does not know (src/admin/tenant-index.ts).
    const res = await call(`/__gateway/%61dmin/tenants/${tenant("trail-rid")}/keys`, { headers: { ...ADMIN, "x-request-id": "client-chosen-0002" } });
    expect(res.status).toBe(200); // routed to the admin API as the decoded path ...
    expect(res.headers.get("x-request-id")).not.toBe("client-chosen-0002"); // ... and treated as one
  });
});
