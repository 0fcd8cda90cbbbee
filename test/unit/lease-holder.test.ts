/**
 * The lease rules with exact times: one LeaseHolder (the isolate) against the real ledger (the object),
 * with a hand-driven exchange so every answer arrives exactly when the test says.
 */
import { describe, expect, it } from "vitest";
import { rememberRevoked } from "../../src/auth/revoked-keys";
import type { LeaseSettings } from "../../src/config/rate-limit";
import { admit } from "../../src/ratelimit/admission";
import { LeaseHolder, type Exchange } from "../../src/ratelimit/lease-holder";
import { newLedger, settleExchange } from "../../src/ratelimit/lease-ledger";
import type { Policy } from "../../src/shared/policy";
import type { LeaseAnswer, LeaseRequest } from "../../src/ratelimit/limiter-protocol";

const settings: LeaseSettings = { ttlMs: 1000, marginMs: 25, denyForMs: 1000, timeoutMs: 5000 };
const flush = async () => {
  for (let i = 0; i < 30; i++) await Promise.resolve();
};

/** An isolate and an object on one hand-moved clock; exchanges wait until `answer()` is called. */
function rig(policies: Policy[], objectOffsetMs = 0, tenantId = `t-${crypto.randomUUID()}`) {
  let now = 1_800_000_000_000;
  const ledger = newLedger();
  let current = policies;
  const pending: Array<{ req: Omit<LeaseRequest, "defaults" | "holderId" | "keyId">; resolve: (a: LeaseAnswer) => void; reject: (e: Error) => void }> = [];
  const sent: Array<Omit<LeaseRequest, "defaults" | "holderId" | "keyId">> = [];
  const revoked: string[] = [];
  const grants: number[] = [];
  const exchange: Exchange = (req) =>
    new Promise((resolve, reject) => {
      sent.push(req);
      pending.push({ req, resolve, reject });
    });
  const holder = new LeaseHolder(tenantId, () => now);
  const background: Array<Promise<unknown>> = [];
  return {
    holder,
    sent,
    grants,
    tenantId,
    setPolicies: (p: Policy[]) => (current = p),
    revoke: (keyId: string) => revoked.push(keyId),
    advance: (ms: number) => (now += ms),
    now: () => now,
    acquire: (keyId: string | null = null) => holder.acquire(keyId, 1, settings, exchange, (p) => background.push(p)),
    admit: (keyId: string | null = null) => admit(holder, keyId, 1, settings, exchange, (p) => background.push(p)),
    /** Delivers the oldest pending exchange to the object now and its answer back now. */
    async answer() {
      const p = pending.shift();
      if (p === undefined) throw new Error("no exchange pending");
      const d = settleExchange(ledger, current, { ...p.req, holderId: "h1" }, now + objectOffsetMs);
      if (d.lease !== null) grants.push(d.lease.permits);
      p.resolve({ nowMs: now + objectOffsetMs, lease: d.lease, states: d.states, violated: d.violated, shadowRemaining: [], revoked: revoked.splice(0), revocationCursor: 0 });
      await flush();
    },
    async fail() {
      pending.shift()?.reject(new Error("unreachable"));
      await flush();
    },
    pendingCount: () => pending.length,
  };
}

const kind = (o: ReturnType<LeaseHolder["acquire"]>) => (o instanceof Promise ? "waiting" : o.kind);

/** Spends a limit of one, then `gapMs` later has the next request refused by the object, its answer `rttMs` on the way. */
async function refusedAfterLimit(r: ReturnType<typeof rig>, gapMs: number, rttMs = 0) {
  const first = r.admit();
  await r.answer();
  expect((await first).kind).toBe("admitted");
  r.advance(gapMs);
  const next = r.admit();
  r.advance(rttMs);
  await r.answer();
  return next;
}

describe("lease holder", () => {
  it("admits from the lease in hand without an exchange, until ttl after the request was sent (not after the answer came)", async () => {
    const r = rig([{ name: "p", limit: 1000, windowSec: 60 }]);
    const first = r.admit();
    r.advance(300); // the answer takes 300 ms
    await r.answer();
    expect(await first).toMatchObject({ kind: "admitted", waited: true });
    expect(kind(r.acquire())).toBe("admitted");
    r.advance(1000 - 300 - 25 - 1); // 1 ms before sentAt + ttl - margin
    expect(kind(r.acquire())).toBe("admitted");
    r.advance(1);
    expect(kind(r.acquire())).toBe("waiting");
  });

  it("renews ahead of need: past half its permits, a background exchange starts while requests keep being admitted", async () => {
    const r = rig([{ name: "p", limit: 1000, windowSec: 60 }]);
    const first = r.admit();
    await r.answer();
    await first;
    const granted = r.sent[0]?.want ?? 0;
    expect(granted).toBeGreaterThan(2);
    let i = 1;
    while (r.pendingCount() === 0 && i < granted) {
      expect(kind(r.acquire())).toBe("admitted");
      i++;
    }
    expect(r.pendingCount()).toBe(1);
    expect(i).toBeLessThanOrEqual(Math.ceil(granted / 2) + 1);
    expect(kind(r.acquire())).toBe("admitted"); // still served from the old lease while the renewal is out
    await r.answer();
    expect(r.sent[1]?.reports).toEqual([]); // the old lease is reported with the exchange after
    expect(kind(r.acquire())).toBe("admitted");
  });

  it("shrinks leases to one permit near the limit, and admits exactly L of 25 concurrent requests", async () => {
    const r = rig([{ name: "p", limit: 10, windowSec: 60 }]);
    const outcomes = Array.from({ length: 25 }, () => r.admit());
    while (r.pendingCount() > 0) await r.answer();
    const sizes = r.grants;
    const results = await Promise.all(outcomes);
    expect(results.filter((o) => o.kind === "admitted")).toHaveLength(10);
    expect(results.filter((o) => o.kind === "refused")).toHaveLength(15);
    expect(sizes.at(-1)).toBe(1);
    expect(sizes.reduce((a, b) => a + b, 0)).toBe(10);
  });

  it("answers a refusal from the isolate for at most denyForMs, then asks again and sees a raised limit", async () => {
    const r = rig([{ name: "p", limit: 1, windowSec: 86_400 }]);
    expect(await refusedAfterLimit(r, 1000)).toMatchObject({ kind: "refused", cached: false });
    r.advance(999);
    expect(r.acquire()).toMatchObject({ kind: "refused", cached: true });
    r.setPolicies([{ name: "p", limit: 100, windowSec: 86_400 }]);
    r.advance(1);
    const c = r.admit();
    expect(r.pendingCount()).toBe(1);
    await r.answer();
    expect((await c).kind).toBe("admitted");
  });

  it("ends a cached refusal half a round trip before the object's retry time when that comes before denyForMs", async () => {
    const r = rig([{ name: "p", limit: 1, windowSec: 1 }]);
    const refused = await refusedAfterLimit(r, 500, 100); // the refusal takes 100 ms to come back
    if (refused.kind !== "refused" || refused.violated.retryAtMs === null) throw new Error(`expected a refusal with a retry time, got ${refused.kind}`);
    const until = refused.violated.retryAtMs - 50;
    expect(until).toBeLessThan(r.now() + settings.denyForMs);
    r.advance(until - 1 - r.now());
    expect(r.acquire()).toMatchObject({ kind: "refused", cached: true });
    expect(r.pendingCount()).toBe(0);
    r.advance(1);
    expect(kind(r.acquire())).toBe("waiting");
    expect(r.pendingCount()).toBe(1);
  });

  it("states a cached refusal's times in the object's frame when the clocks differ", async () => {
    const r = rig([{ name: "p", limit: 1, windowSec: 60 }], -7_000); // the object's clock runs 7 s behind
    const refused = await refusedAfterLimit(r, 1000);
    r.advance(500);
    const cached = r.acquire();
    expect(cached).toMatchObject({ kind: "refused", cached: true, limiterNowMs: r.now() - 7_000 });
    expect(refused).toMatchObject({ kind: "refused", limiterNowMs: r.now() - 500 - 7_000 });
  });

  it("refuses a key revoked at the object from the first exchange after the revocation: at most one lease life later", async () => {
    const r = rig([{ name: "p", limit: 1000, windowSec: 60 }]);
    const first = r.admit("key_aaaaaaaaaaaaaaaa");
    await r.answer();
    expect((await first).kind).toBe("admitted");
    r.revoke("key_aaaaaaaaaaaaaaaa");
    // The lease granted before the revocation may still admit it, but only within its life.
    r.advance(settings.ttlMs - settings.marginMs);
    expect(kind(r.acquire("key_aaaaaaaaaaaaaaaa"))).toBe("waiting");
    const next = r.admit("key_aaaaaaaaaaaaaaaa");
    await r.answer();
    expect(await next).toEqual({ kind: "revoked" });
    expect(r.acquire("key_aaaaaaaaaaaaaaaa")).toEqual({ kind: "revoked" });
    expect(kind(r.acquire("key_bbbbbbbbbbbbbbbb"))).toBe("admitted");
  });

  it("keeps admitting from a lease in hand while the object is unreachable, then reports it unavailable", async () => {
    const r = rig([{ name: "p", limit: 1000, windowSec: 60 }]);
    const first = r.admit();
    await r.answer();
    await first;
    r.advance(600); // past half its life: the next admission starts a renewal
    expect(kind(r.acquire())).toBe("admitted");
    await r.fail();
    expect(kind(r.acquire())).toBe("admitted");
    r.advance(400);
    const after = r.admit();
    await flush();
    await r.fail();
    expect(await after).toMatchObject({ kind: "unavailable" });
  });

  it("knows revocations from other sources of the same isolate (the admin API, another holder) at once", () => {
    const r = rig([{ name: "p", limit: 1000, windowSec: 60 }]);
    rememberRevoked(r.tenantId, ["key_cccccccccccccccc"]);
    expect(r.acquire("key_cccccccccccccccc")).toEqual({ kind: "revoked" });
  });
});
