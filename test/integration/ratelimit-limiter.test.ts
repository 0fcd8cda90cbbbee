/** The TenantLimiter Durable Object with its real SQLite storage; time is moved through its injected clock. */
import { evictDurableObject, runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import type { Policy } from "../../src/shared/policy";
import { BUCKETS_PER_WINDOW } from "../../src/ratelimit/sliding-window";
import type { LeaseAnswer } from "../../src/ratelimit/limiter-protocol";
import { STALE_ROWS, type TenantLimiter } from "../../src/ratelimit/tenant-limiter";
import { tenant } from "../support/gateway";
import { leaseExchange } from "../support/lease-exchange";

const defaults: Policy[] = [{ name: "default", limit: 3, windowSec: 60 }];
const T0 = 1_800_000_000_000;

/** A tenant's limiter with a clock the test moves; the clock is re-installed after every restart. */
function limiterFor(label: string) {
  const name = tenant(label);
  // A fresh stub for every call, so a restarted object is reached the way the gateway reaches it.
  const stub = () => env.TENANT_LIMITER.getByName(name);
  let now = T0;
  const withClock = <R>(fn: (instance: TenantLimiter, state: DurableObjectState) => R | Promise<R>) =>
    runInDurableObject(stub(), (instance: TenantLimiter, state) => {
      instance.clock = () => now;
      return fn(instance, state);
    });
  return {
    stub,
    set: (ms: number) => {
      now = ms;
    },
    /** One request decided as a one-permit lease used at once (ttl 0): the object's per-request decision. */
    admit: async (policies = defaults): Promise<LeaseAnswer & { allowed: boolean }> => {
      const answer = await withClock((o) => leaseExchange(o, { holderId: "h1", keyId: null, want: 1, min: 1, ttlMs: 0, defaults: policies, reports: [], revocationCursor: 0 }));
      return { ...answer, allowed: answer.lease !== null };
    },
    withClock,
  };
}

async function admitN(l: ReturnType<typeof limiterFor>, n: number, policies = defaults): Promise<boolean[]> {
  const out: boolean[] = [];
  for (let i = 0; i < n; i++) out.push((await l.admit(policies)).allowed);
  return out;
}

function bucketRows(state: DurableObjectState): Array<{ window_sec: number; n: number }> {
  return state.storage.sql
    .exec<{ store: string; n: number }>("SELECT store, COUNT(*) AS n FROM counts GROUP BY store")
    .toArray()
    .map((r) => ({ window_sec: Number(r.store.split("#")[1]), n: r.n }));
}

describe("TenantLimiter", () => {
  it("admits L requests, refuses the next with its retry time, and admits again exactly then", async () => {
    const l = limiterFor("do-basic");
    expect(await admitN(l, 4)).toEqual([true, true, true, false]);
    const refused = await l.admit();
    expect(refused).toMatchObject({ allowed: false, lease: null, nowMs: T0 });
    expect(refused.violated?.policy).toEqual({ ...defaults[0], scope: "tenant" });
    const retryAt = refused.violated?.retryAtMs ?? 0;
    l.set(retryAt - 1);
    expect((await l.admit()).allowed).toBe(false);
    l.set(retryAt);
    expect((await l.admit()).allowed).toBe(true);
  });

  it("does not count refused requests", async () => {
    const l = limiterFor("do-refused");
    await admitN(l, 3);
    await admitN(l, 20);
    const status = await l.withClock((o) => o.status(defaults));
    expect(status.states[0]).toMatchObject({ used: 3, remaining: 0 });
  });

  it("keeps its counts across eviction", async () => {
    const l = limiterFor("do-evict");
    await admitN(l, 3);
    const before = (await l.admit()).violated?.retryAtMs;
    await evictDurableObject(l.stub());
    const after = await l.admit();
    expect(after.allowed).toBe(false);
    expect(after.violated?.retryAtMs).toBe(before);
  });

  // Eviction, not abortAllDurableObjects(): aborting every object would also break other test files' calls.
  it("keeps its counts, override and revoked keys across a restart", async () => {
    const l = limiterFor("do-abort");
    const override: Policy[] = [{ name: "burst", limit: 2, windowSec: 10 }];
    await l.withClock((o) => o.setPolicies(override));
    await l.withClock((o) => o.revokeKey("key_0123456789abcdef"));
    await admitN(l, 2);
    await evictDurableObject(l.stub());
    expect((await l.admit()).violated?.policy).toEqual({ ...override[0], scope: "tenant" });
    expect(await l.withClock((o) => o.status(defaults))).toMatchObject({ overridden: true, policies: override.map((p) => ({ ...p, scope: "tenant" })) });
    expect((await l.admit()).revoked).toEqual(["key_0123456789abcdef"]);
  });

  it("tells each isolate the revocations it has not seen, after its cursor, once", async () => {
    const l = limiterFor("do-revoke");
    await l.withClock((o) => o.revokeKey("key_aaaaaaaaaaaaaaaa"));
    await l.withClock((o) => o.revokeKey("key_aaaaaaaaaaaaaaaa")); // revoking twice records it once
    const first = await l.admit();
    expect(first).toMatchObject({ allowed: true, revoked: ["key_aaaaaaaaaaaaaaaa"] });
    await l.withClock((o) => o.revokeKey("key_bbbbbbbbbbbbbbbb"));
    const next = await l.withClock((o) => leaseExchange(o, { holderId: "h1", keyId: null, want: 1, min: 1, ttlMs: 0, defaults, reports: [], revocationCursor: first.revocationCursor }));
    expect(next.revoked).toEqual(["key_bbbbbbbbbbbbbbbb"]);
    const again = await l.withClock((o) => leaseExchange(o, { holderId: "h1", keyId: null, want: 1, min: 1, ttlMs: 0, defaults, reports: [], revocationCursor: next.revocationCursor }));
    expect(again.revoked).toEqual([]);
  });

  it("uses the tenant override until it is reset, effective on the next request", async () => {
    const l = limiterFor("do-override");
    await l.stub().setPolicies([{ name: "tiny", limit: 1, windowSec: 60 }]);
    expect(await admitN(l, 2)).toEqual([true, false]);
    await l.stub().setPolicies(null);
    // Back to the default (3/1m); the one admission so far still counts, since both share the 1m window.
    expect(await admitN(l, 3)).toEqual([true, true, false]);
  });

  it("names the policy that refused when several apply", async () => {
    const l = limiterFor("do-multi");
    const policies: Policy[] = [
      { name: "burst", limit: 2, windowSec: 1 },
      { name: "minute", limit: 3, windowSec: 60 },
    ];
    expect(await admitN(l, 3, policies)).toEqual([true, true, false]);
    l.set(T0 + 2000);
    expect(await admitN(l, 2, policies)).toEqual([true, false]);
    const refused = await l.admit(policies);
    expect(refused.violated?.policy.name).toBe("minute");
    expect(refused.states.map((s) => s.remaining)).toEqual([1, 0]);
  });

  it("keeps at most B+1 buckets per window in storage, plus fewer than STALE_ROWS that left the span", async () => {
    const l = limiterFor("do-memory");
    const policies: Policy[] = [
      { name: "second", limit: 1_000_000, windowSec: 1 },
      { name: "minute", limit: 1_000_000, windowSec: 60 },
    ];
    for (let t = T0; t < T0 + 5_000; t += 10) {
      l.set(t);
      await l.admit(policies);
    }
    const rows = await l.withClock((_o, state) => bucketRows(state));
    const second = rows.find((r) => r.window_sec === 1)?.n ?? 0;
    expect(second).toBeGreaterThan(0);
    expect(second).toBeLessThanOrEqual(BUCKETS_PER_WINDOW + 1);
    for (const row of rows) expect(row.n).toBeLessThanOrEqual(BUCKETS_PER_WINDOW + 1 + STALE_ROWS);
  });

  it("forgets the buckets of a window no policy uses any more", async () => {
    const l = limiterFor("do-old-window");
    await admitN(l, 1, [{ name: "second", limit: 5, windowSec: 1 }]);
    l.set(T0 + 5_000);
    await admitN(l, 1);
    const rows = await l.withClock((_o, state) => bucketRows(state));
    expect(rows.map((r) => r.window_sec)).toEqual([60]);
  });

  it("reports usage without counting", async () => {
    const l = limiterFor("do-status");
    await admitN(l, 2);
    for (let i = 0; i < 5; i++) await l.withClock((o) => o.status(defaults));
    expect((await l.withClock((o) => o.status(defaults))).states[0]).toMatchObject({ used: 2, remaining: 1 });
  });
});

describe("TenantLimiter: leases", () => {
  type Report = { id: string; used: number; lastUseOffsetMs: number; uses?: Array<{ offsetMs: number; count: number }> };
  const policy = (limit: number) => [{ name: "default", limit, windowSec: 60 }];
  const lease = (l: ReturnType<typeof limiterFor>, ask: { want: number; need: number; limit?: number; reports?: Report[]; holderId?: string }) =>
    l.withClock((o) =>
      leaseExchange(o, { holderId: ask.holderId ?? "h1", keyId: null, want: ask.want, need: ask.need, min: 1, ttlMs: 1000, defaults: policy(ask.limit ?? 10), reports: ask.reports ?? [], revocationCursor: 0, keysEpoch: -1 }),
    );
  const used = async (l: ReturnType<typeof limiterFor>, limit = 10) => (await l.withClock((o) => o.status(policy(limit)))).states[0]?.used;

  it("sizes a lease: the waiting requests' need, then at most L/W x T ahead of it, shared among the isolates drawing", async () => {
    const l = limiterFor("do-lease-size");
    // 600 a minute is 10 per second (a lease's life): one isolate may hold 10 ahead of its need.
    const a = await lease(l, { want: 100, need: 2, limit: 600 });
    expect(a.lease?.permits).toBe(12);
    // A second isolate drawing: 5 ahead each.
    const b = await lease(l, { want: 100, need: 0, limit: 600, holderId: "h2" });
    expect(b.lease?.permits).toBe(5);
    // Need is granted whole, up to the headroom, whatever the share.
    const c = await lease(l, { want: 40, need: 40, limit: 600, holderId: "h2" });
    expect(c.lease?.permits).toBe(40);
  });

  it("counts leased permits until W after the lease's end (the clock moves there), and a report releases the unused ones", async () => {
    const l = limiterFor("do-lease");
    l.set(T0);
    const a = await lease(l, { want: 5, need: 5 });
    expect(a.lease?.permits).toBe(5);
    // Recorded in the bucket of the lease's end (T0 + 1 s), counted until W and a bucket (100 ms) after it.
    l.set(T0 + 61_099);
    expect(await used(l)).toBe(5);
    l.set(T0 + 61_100);
    expect(await used(l)).toBe(0);
    // A report: 2 of 5 used, the last 300 ms after the request was sent: 3 released, 2 moved to T0' + 300 ms.
    const t1 = T0 + 120_000;
    l.set(t1);
    const b = await lease(l, { want: 5, need: 5 });
    l.set(t1 + 500);
    await lease(l, { want: 0, need: 0, reports: [{ id: b.lease?.id ?? "", used: 2, lastUseOffsetMs: 300 }] });
    expect(await used(l)).toBe(2);
    l.set(t1 + 60_399);
    expect(await used(l)).toBe(2);
    l.set(t1 + 60_400); // W and a bucket after the last use, not after the lease's end
    expect(await used(l)).toBe(0);
    // The same report again changes nothing.
    l.set(t1 + 500);
    await lease(l, { want: 0, need: 0, reports: [{ id: b.lease?.id ?? "", used: 2, lastUseOffsetMs: 300 }] });
    expect(await used(l)).toBe(2);
  });

  it("keeps leased permits counted across a restart, even though the lease records are lost", async () => {
    const l = limiterFor("do-lease-restart");
    const a = await lease(l, { want: 4, need: 4 });
    await l.withClock((_o, state) => state.storage.sql.exec("SELECT 1").toArray());
    await evictDurableObject(l.stub());
    const after = await lease(l, { want: 1, need: 1, reports: [{ id: a.lease?.id ?? "", used: 0, lastUseOffsetMs: 0 }] });
    expect(after.states[0]?.used).toBe((a.lease?.permits ?? 0) + 1); // the report could not be applied: still counted
  });

  it("writes what a report and a grant changed through to storage (a bucket touched twice: its last count): a restarted object counts the same, and old rows leave with the span", async () => {
    const l = limiterFor("do-lease-write-through");
    l.set(T0);
    const a = await lease(l, { want: 5, need: 5 });
    // One exchange applies the report (3 released; of the 2 used, one moved to T0 + 300 ms, one used at the
    // lease's end stays in its bucket, which the exchange writes twice: -5, then +1) and grants 1.
    l.set(T0 + 500);
    const uses = [
      { offsetMs: 300, count: 1 },
      { offsetMs: 1000, count: 1 },
    ];
    await lease(l, { want: 1, need: 1, reports: [{ id: a.lease?.id ?? "", used: 2, lastUseOffsetMs: 1000, uses }] });
    await evictDurableObject(l.stub());
    expect(await used(l)).toBe(3);
    l.set(T0 + 60_400);
    expect(await used(l)).toBe(2); // the one moved to T0 + 300 ms left with its bucket, not with the lease's end
    // A lease given back whole empties its bucket; restarted, the object counts nothing there.
    const b = await lease(l, { want: 2, need: 2 });
    await lease(l, { want: 0, need: 0, reports: [{ id: b.lease?.id ?? "", used: 0, lastUseOffsetMs: 0 }] });
    const emptied = (state: DurableObjectState) => state.storage.sql.exec("SELECT 1 FROM counts WHERE count = 0").toArray().length;
    expect(await l.withClock((_o, state) => emptied(state))).toBe(1);
    await evictDurableObject(l.stub());
    expect(await used(l)).toBe(2);
    expect(await l.withClock((_o, state) => emptied(state))).toBe(0); // a restarted object keeps no emptied row
    // Past the span of every bucket above, their rows are not counted, even by a restarted object that reads
    // them back; they are deleted, the emptied one's included, once STALE_ROWS buckets have left the span.
    l.set(T0 + 200_000);
    await lease(l, { want: 1, need: 1 });
    await evictDurableObject(l.stub());
    expect(await used(l)).toBe(1);
    const rows = () => l.withClock((_o, state) => state.storage.sql.exec<{ bucket: number; count: number }>("SELECT bucket, count FROM counts ORDER BY bucket").toArray());
    expect((await rows()).length).toBeGreaterThan(1);
    const last = T0 + 200_000 + STALE_ROWS * 100;
    for (let t = T0 + 200_100; t <= last; t += 100) {
      l.set(t); // a bucket is 100 ms at W = 60 s: each grant in a bucket of its own
      await lease(l, { want: 1, need: 1, limit: 1000 });
    }
    l.set(last + 62_000); // every grant above recorded at its time + 1 s: all of them out of the span
    await lease(l, { want: 1, need: 1, limit: 1000 });
    expect(await rows()).toEqual([{ bucket: Math.floor(((last + 63_000) * BUCKETS_PER_WINDOW) / 60_000), count: 1 }]);
  });

  it("answers the wire form (JSON text) with text, and a request sent as an object (an isolate of the version before, mid-rollout) with an object", async () => {
    const stub = env.TENANT_LIMITER.getByName(tenant("do-lease-wire"));
    const req = { holderId: "h1", keyId: null, want: 2, need: 2, min: 1, ttlMs: 1000, defaults: policy(10), reports: [], revocationCursor: 0 };
    const text = await stub.exchange(JSON.stringify(req));
    expect(typeof text).toBe("string");
    expect(JSON.parse(text as string)).toMatchObject({ lease: { permits: 2 }, states: [{ used: 2, remaining: 8 }] });
    expect(await stub.exchange(req)).toMatchObject({ lease: { permits: 2 }, states: [{ used: 4, remaining: 6 }] });
  });

  it("answers a report alone (want 0) without granting or refusing", async () => {
    const l = limiterFor("do-lease-report");
    const a = await lease(l, { want: 10, need: 10 });
    const r = await lease(l, { want: 0, need: 0, reports: [{ id: a.lease?.id ?? "", used: 0, lastUseOffsetMs: 0 }] });
    expect(r.lease).toBeNull();
    expect(r.violated).toBeNull();
    expect(r.states[0]?.used).toBe(0);
  });
});
