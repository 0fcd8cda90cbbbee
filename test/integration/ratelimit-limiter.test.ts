/** The TenantLimiter Durable Object with its real SQLite storage; time is moved through its injected clock. */
import { evictDurableObject, runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import type { Policy } from "../../src/shared/policy";
import { BUCKETS_PER_WINDOW } from "../../src/ratelimit/sliding-window";
import type { LeaseAnswer } from "../../src/ratelimit/limiter-protocol";
import type { TenantLimiter } from "../../src/ratelimit/tenant-limiter";
import { tenant } from "../support/gateway";

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
      const answer = await withClock((o) => o.exchange({ holderId: "h1", keyId: null, want: 1, min: 1, ttlMs: 0, defaults: policies, reports: [], revocationCursor: 0 }));
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
    const next = await l.withClock((o) => o.exchange({ holderId: "h1", keyId: null, want: 1, min: 1, ttlMs: 0, defaults, reports: [], revocationCursor: first.revocationCursor }));
    expect(next.revoked).toEqual(["key_bbbbbbbbbbbbbbbb"]);
    const again = await l.withClock((o) => o.exchange({ holderId: "h1", keyId: null, want: 1, min: 1, ttlMs: 0, defaults, reports: [], revocationCursor: next.revocationCursor }));
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

  it("keeps at most B+1 buckets per window in storage", async () => {
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
    for (const row of rows) expect(row.n).toBeLessThanOrEqual(BUCKETS_PER_WINDOW + 1);
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
  const lease = (l: ReturnType<typeof limiterFor>, want: number, reports: Array<{ id: string; used: number; lastUseOffsetMs: number }> = [], holderId = "h1") =>
    l.withClock((o) => o.exchange({ holderId, keyId: null, want, min: 1, ttlMs: 1000, defaults: [{ name: "default", limit: 10, windowSec: 60 }], reports, revocationCursor: 0 }));

  it("counts leased permits until W after the lease's end, and a report releases the unused ones", async () => {
    const l = limiterFor("do-lease");
    const a = await lease(l, 100);
    expect(a.lease?.permits).toBe(5); // half the headroom for the one isolate drawing on it
    const b = await lease(l, 100);
    expect(b.lease?.permits).toBe(2);
    expect(b.states[0]).toMatchObject({ used: 7, remaining: 3 });
    // Isolate A used 2 of its 5 permits, the last 300 ms after it sent its request.
    const c = await lease(l, 1, [{ id: a.lease?.id ?? "", used: 2, lastUseOffsetMs: 300 }]);
    expect(c.states[0]).toMatchObject({ used: 5 });
    // The same report again changes nothing.
    const d = await lease(l, 1, [{ id: a.lease?.id ?? "", used: 2, lastUseOffsetMs: 300 }]);
    expect(d.states[0]).toMatchObject({ used: 6 });
  });

  it("keeps leased permits counted across a restart, even though the lease records are lost", async () => {
    const l = limiterFor("do-lease-restart");
    const a = await lease(l, 100);
    await l.withClock((_o, state) => state.storage.sql.exec("SELECT 1").toArray());
    await evictDurableObject(l.stub());
    const after = await lease(l, 1, [{ id: a.lease?.id ?? "", used: 0, lastUseOffsetMs: 0 }]);
    expect(after.states[0]?.used).toBe((a.lease?.permits ?? 0) + 1); // the report could not be applied: still counted
  });

  it("divides the headroom among the isolates drawing on it", async () => {
    const l = limiterFor("do-lease-share");
    await lease(l, 1, [], "h1");
    const second = await lease(l, 100, [], "h2");
    expect(second.lease?.permits).toBe(Math.floor(9 / 4)); // two isolates: a quarter of the headroom each
  });
});
