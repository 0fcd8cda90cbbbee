/**
 * The lease rules with exact times: one LeaseHolder (the isolate) against the real ledger (the object),
 * with a hand-driven exchange so every answer arrives exactly when the test says.
 */
import { describe, expect, it } from "vitest";
import { rememberRevoked } from "../../src/auth/revoked-keys";
import type { LeaseSettings } from "../../src/config/rate-limit";
import { LeaseHolder, type Exchange, type Outcome } from "../../src/ratelimit/lease-holder";
import { newLedger, settleExchange } from "../../src/ratelimit/lease-ledger";
import type { Policy } from "../../src/shared/policy";
import type { LeaseAnswer, LeaseRequest } from "../../src/ratelimit/limiter-protocol";
import { newRoundTrip, type RoundTrip } from "../../src/ratelimit/round-trip";

const settings: LeaseSettings = { ttlMs: 1000, marginMs: 25, denyForMs: 1000, timeoutMs: 5000 };
const flush = async () => {
  for (let i = 0; i < 30; i++) await Promise.resolve();
};

/** An isolate and an object on one hand-moved clock; exchanges wait until `answer()` is called. */
function rig(policies: Policy[], objectOffsetMs = 0, tenantId = `t-${crypto.randomUUID()}`) {
  let now = 1_800_000_000_000;
  const ledger = newLedger();
  let current = policies;
  const pending: Array<{ req: Omit<LeaseRequest, "defaults" | "holderId">; resolve: (a: LeaseAnswer) => void; reject: (e: Error) => void }> = [];
  const sent: Array<Omit<LeaseRequest, "defaults" | "holderId">> = [];
  const revoked: string[] = [];
  const grants: number[] = [];
  const exchange: Exchange = (req) =>
    new Promise((resolve, reject) => {
      sent.push(req);
      pending.push({ req, resolve, reject });
    });
  // The holder's timer (a lease's end) fires as the test moves the clock past it.
  const timers: Array<{ at: number; fire: () => void }> = [];
  const holder = new LeaseHolder(tenantId, () => now, (ms) => new Promise<void>((fire) => timers.push({ at: now + ms, fire })));
  const background: Array<Promise<unknown>> = [];
  return {
    holder,
    sent,
    grants,
    tenantId,
    setPolicies: (p: Policy[]) => (current = p),
    revoke: (keyId: string) => revoked.push(keyId),
    advance: (ms: number) => {
      now += ms;
      for (const t of timers.filter((x) => x.at <= now)) {
        timers.splice(timers.indexOf(t), 1);
        t.fire();
      }
    },
    now: () => now,
    /** Asks for one admission and lets it run as far as it can without an answer: its outcome, or "waiting". */
    async acquire(keyId: string | null = null): Promise<Outcome | "waiting"> {
      let outcome: Outcome | "waiting" = "waiting";
      void holder.admit(keyId, 1, settings, exchange, (p) => background.push(p)).then((o) => (outcome = o));
      await flush();
      return outcome;
    },
    admit: (keyId: string | null = null) => holder.admit(keyId, 1, settings, exchange, (p) => background.push(p)),
    /** Delivers the oldest pending exchange to the object now and its answer back now. */
    async answer() {
      const p = pending.shift();
      if (p === undefined) throw new Error("no exchange pending");
      const d = settleExchange(ledger, current, { ...p.req, holderId: "h1" }, now + objectOffsetMs);
      if (d.lease !== null) grants.push(d.lease.permits);
      p.resolve({ nowMs: now + objectOffsetMs, lease: d.lease, states: d.states, violated: d.violated, shadowRemaining: [], revoked: revoked.splice(0), revocationCursor: 0, keyScopes: null });
      await flush();
    },
    async fail() {
      pending.shift()?.reject(new Error("unreachable"));
      await flush();
    },
    pendingCount: () => pending.length,
    /** Gives the holder a demand to lease ahead for: ten requests 100 ms apart, each answered. */
    async warm() {
      for (let i = 0; i < 10; i++) {
        const o = holder.admit(null, 1, settings, exchange, (p) => background.push(p));
        await flush();
        if (pending.length > 0) await this.answer();
        expect((await o).kind).toBe("admitted");
        this.advance(100);
        await flush();
      }
      while (pending.length > 0) await this.answer();
    },
    /** Admits from the lease in hand until a request must wait for an exchange; returns that request. */
    async untilExchange(keyId: string | null = null): Promise<{ outcome: Promise<Outcome> }> {
      for (;;) {
        const outcome = holder.admit(keyId, 1, settings, exchange, (p) => background.push(p));
        await flush();
        if (pending.length > 0) return { outcome };
        await outcome;
      }
    },
  };
}

const kind = async (o: Promise<Outcome | "waiting">) => {
  const got = await o;
  return got === "waiting" ? got : got.kind;
};

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
    await r.warm();
    const { outcome: first } = await r.untilExchange();
    r.advance(300); // the answer takes 300 ms
    await r.answer();
    expect(await first).toMatchObject({ kind: "admitted" });
    expect(await kind(r.acquire())).toBe("admitted");
    r.advance(1000 - 300 - 25 - 1); // 1 ms before sentAt + ttl - margin
    expect(await kind(r.acquire())).toBe("admitted");
    r.advance(1);
    expect(await kind(r.acquire())).toBe("waiting");
  });

  it("renews ahead of need: a background exchange starts while requests keep being admitted from the lease in hand", async () => {
    const r = rig([{ name: "p", limit: 1000, windowSec: 60 }]);
    await r.warm();
    const { outcome: renewal } = await r.untilExchange();
    expect(await renewal).toMatchObject({ kind: "admitted", waited: false }); // the request that started it did not wait
    expect(r.sent.at(-1)?.need).toBe(0); // nothing was waiting: the exchange asks ahead of need only
    expect(r.sent.at(-1)?.want).toBeGreaterThan(0);
    expect(await kind(r.acquire())).toBe("admitted"); // still served from the lease in hand while the renewal is out
    await r.answer();
    expect(await kind(r.acquire())).toBe("admitted");
  });

  it("admits exactly L of 25 concurrent requests: their need is granted up to the headroom, the rest refused", async () => {
    const r = rig([{ name: "p", limit: 10, windowSec: 60 }]);
    const outcomes = Array.from({ length: 25 }, () => r.admit());
    while (r.pendingCount() > 0) await r.answer();
    const sizes = r.grants;
    const results = await Promise.all(outcomes);
    expect(results.filter((o) => o.kind === "admitted")).toHaveLength(10);
    expect(results.filter((o) => o.kind === "refused")).toHaveLength(15);
    expect(r.sent.length).toBeLessThanOrEqual(3);
    expect(sizes.reduce((a, b) => a + b, 0)).toBe(10);
  });

  it("answers a refusal from the isolate for at most denyForMs, then asks again and sees a raised limit", async () => {
    const r = rig([{ name: "p", limit: 1, windowSec: 86_400 }]);
    expect(await refusedAfterLimit(r, 1000)).toMatchObject({ kind: "refused", cached: false });
    r.advance(999);
    expect(await r.acquire()).toMatchObject({ kind: "refused", cached: true });
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
    expect(await r.acquire()).toMatchObject({ kind: "refused", cached: true });
    expect(r.pendingCount()).toBe(0);
    r.advance(1);
    expect(await kind(r.acquire())).toBe("waiting");
    expect(r.pendingCount()).toBe(1);
  });

  it("states a cached refusal's times in the object's frame when the clocks differ", async () => {
    const r = rig([{ name: "p", limit: 1, windowSec: 60 }], -7_000); // the object's clock runs 7 s behind
    const refused = await refusedAfterLimit(r, 1000);
    r.advance(500);
    const cached = await r.acquire();
    expect(cached).toMatchObject({ kind: "refused", cached: true, limiterNowMs: r.now() - 7_000 });
    expect(refused).toMatchObject({ kind: "refused", limiterNowMs: r.now() - 500 - 7_000 });
  });

  it("refuses a key revoked at the object from the first exchange after the revocation: at most one lease life later", async () => {
    const r = rig([{ name: "p", limit: 1000, windowSec: 60 }]);
    await r.warm();
    const { outcome: first } = await r.untilExchange("key_aaaaaaaaaaaaaaaa");
    await r.answer();
    expect((await first).kind).toBe("admitted");
    r.revoke("key_aaaaaaaaaaaaaaaa");
    // The lease granted before the revocation may still admit it, but only within its life.
    r.advance(settings.ttlMs - settings.marginMs);
    expect(await kind(r.acquire("key_aaaaaaaaaaaaaaaa"))).toBe("waiting");
    const next = r.admit("key_aaaaaaaaaaaaaaaa");
    await r.answer();
    expect(await next).toEqual({ kind: "revoked" });
    expect(await r.acquire("key_aaaaaaaaaaaaaaaa")).toEqual({ kind: "revoked" });
    const other = r.admit("key_bbbbbbbbbbbbbbbb");
    await flush();
    if (r.pendingCount() > 0) await r.answer();
    expect((await other).kind).toBe("admitted");
  });

  it("keeps admitting from a lease in hand while the object is unreachable, then reports it unavailable", async () => {
    const r = rig([{ name: "p", limit: 1000, windowSec: 60 }]);
    await r.warm();
    const { outcome: first } = await r.untilExchange();
    await r.answer();
    await first;
    r.advance(600); // past half its life: the next admission starts a renewal
    expect(await kind(r.acquire())).toBe("admitted");
    await r.fail();
    expect(await kind(r.acquire())).toBe("admitted");
    r.advance(400);
    const after = r.admit();
    await flush();
    await r.fail();
    expect(await after).toMatchObject({ kind: "unavailable" });
  });

  it("knows revocations from other sources of the same isolate (the admin API, another holder) at once", async () => {
    const r = rig([{ name: "p", limit: 1000, windowSec: 60 }]);
    rememberRevoked(r.tenantId, ["key_cccccccccccccccc"]);
    expect(await r.acquire("key_cccccccccccccccc")).toEqual({ kind: "revoked" });
  });
});

describe("lease holder: no admission without a permit", () => {
  it("serves 1,000 concurrent requests from an object that grants one permit per exchange: every one admitted, none given up on", async () => {
    let now = 1_800_000_000_000;
    const holder = new LeaseHolder(`t-${crypto.randomUUID()}`, () => now, () => new Promise<void>(() => {}));
    const policy: Policy = { name: "p", limit: 10_000, windowSec: 60, scope: "tenant" };
    let calls = 0;
    // A stingy object: whatever is asked, one permit (as when its headroom is shared by very many isolates).
    const exchange: Exchange = (req) => {
      calls++;
      const state = { policy, used: calls, remaining: policy.limit - calls, resetMs: 0, retryAtMs: null };
      return Promise.resolve({ nowMs: now, lease: req.want > 0 ? { id: `l${calls}`, permits: 1, ttlMs: req.ttlMs, keyId: null } : null, states: [state], violated: null, shadowRemaining: [], revoked: [], revocationCursor: 0, keyScopes: null });
    };
    const outcomes = await Promise.all(Array.from({ length: 1000 }, () => holder.admit(null, 1, settings, exchange, () => {})));
    now += 1;
    expect(outcomes.filter((o) => o.kind === "unavailable")).toEqual([]);
    expect(outcomes.filter((o) => o.kind === "admitted")).toHaveLength(1000);
    expect(calls).toBeGreaterThanOrEqual(1000);
  });
});

describe("lease holder: the isolate's round trip", () => {
  /** A holder on a shared clock whose object answers `rttMs` after each request, granting what is asked. */
  function farHolder(clock: { now: number }, rtt: RoundTrip, rttMs: number) {
    const asked: number[] = [];
    const policy: Policy = { name: "p", limit: 100, windowSec: 60, scope: "tenant" };
    const ledger = newLedger();
    const exchange: Exchange = async (req) => {
      asked.push(req.ttlMs);
      clock.now += rttMs;
      const d = settleExchange(ledger, [policy], { ...req, holderId: "h" }, clock.now);
      return { nowMs: clock.now, lease: d.lease, states: d.states, violated: d.violated, shadowRemaining: [], revoked: [], revocationCursor: 0, keyScopes: null };
    };
    const holder = new LeaseHolder(`t-${crypto.randomUUID()}`, () => clock.now, () => new Promise<void>(() => {}), rtt);
    return { asked, admit: () => holder.admit(null, 1, settings, exchange, () => {}) };
  }

  it("asks a short life for a just-in-time grant in a holder new to its tenant, from the round trip its isolate measured for other tenants", async () => {
    const clock = { now: 1_800_000_000_000 };
    const rtt = newRoundTrip();
    const first = farHolder(clock, rtt, 100);
    expect((await first.admit()).kind).toBe("admitted");
    expect(first.asked).toEqual([settings.ttlMs]); // nothing measured yet in this isolate: the full life
    const second = farHolder(clock, rtt, 100);
    expect((await second.admit()).kind).toBe("admitted");
    expect(second.asked).toEqual([2 * 100 + 2 * settings.marginMs]);
  });

  it("asks again when the isolate's estimate was too short for a farther object: the late grant is not used", async () => {
    const clock = { now: 1_800_000_000_000 };
    const rtt = newRoundTrip();
    expect((await farHolder(clock, rtt, 10).admit()).kind).toBe("admitted");
    const far = farHolder(clock, rtt, 200);
    expect((await far.admit()).kind).toBe("admitted");
    // 70 ms asked from the isolate's 10 ms round trip: the grant came 200 ms later, unused; the second ask uses 200 ms.
    expect(far.asked).toEqual([70, 450]);
  });
});

describe("lease holder: a correction report for short windows", () => {
  /** One request served just in time (its answer 100 ms after the send), then the lease's life passes. */
  async function oneRequest(windowSec: number) {
    const r = rig([{ name: "p", limit: 20, windowSec }]);
    const o = r.admit();
    await flush();
    r.advance(100);
    await r.answer();
    expect((await o).kind).toBe("admitted");
    r.advance(settings.ttlMs);
    await flush();
    return r.sent;
  }

  it("reports a used-up lease at its end when the window is under 60 s, so its permit counts at its use, not at the lease's end", async () => {
    const sent = await oneRequest(10);
    expect(sent).toHaveLength(2);
    expect(sent[1]).toMatchObject({ want: 0, reports: [{ used: 1, uses: [{ offsetMs: 100, count: 1 }] }] });
  });

  it("makes no call but the request's own from a window of 60 s on (one call per sparse request)", async () => {
    expect(await oneRequest(60)).toHaveLength(1);
  });
});
