/**
 * The clocks' offset bound (src/ratelimit/clock-bound.ts) and what it buys: a holder that has exchanged with
 * its object before reports each use nearer its real moment, never before it.
 */
import { describe, expect, it } from "vitest";
import type { LeaseSettings } from "../../src/config/rate-limit";
import { creditFor, newClockBound, noteAnswer, offsetBound } from "../../src/ratelimit/clock-bound";
import { LeaseHolder, type Exchange } from "../../src/ratelimit/lease-holder";
import { newLedger, settleExchange, type LeaseReport } from "../../src/ratelimit/lease-ledger";
import type { Policy } from "../../src/shared/policy";

describe("clock bound: what the answers prove about the clocks' offset", () => {
  it("keeps the tightest proof: each answer bounds the offset by its own outbound delay", () => {
    const b = newClockBound();
    expect(offsetBound(b, 1000)).toBeNull();
    noteAnswer(b, 1000, 5_001_300); // offset 5,000,000, outbound 300 ms
    expect(offsetBound(b, 1000)).toBe(5_000_300);
    noteAnswer(b, 2000, 5_002_004); // outbound 4 ms: the tighter proof wins
    expect(offsetBound(b, 2000)).toBe(5_000_004);
    noteAnswer(b, 3000, 5_003_250); // a slower answer later proves less: the tighter one is kept (widened by drift)
    expect(offsetBound(b, 3000)).toBeCloseTo(5_000_004 + 0.1, 6);
  });

  it("widens a proof by 100 ppm per ms of its age, and forgets one older than 10 minutes", () => {
    const b = newClockBound();
    noteAnswer(b, 0, 10);
    expect(offsetBound(b, 60_000)).toBeCloseTo(16, 6);
    expect(offsetBound(b, 600_000)).toBeCloseTo(70, 6);
    expect(offsetBound(b, 600_001)).toBeNull();
    expect(offsetBound(b, -1)).toBeNull(); // a clock stepped back: the proof is not trusted
  });

  it("compares answers that come back out of order at the later send time", () => {
    const b = newClockBound();
    noteAnswer(b, 2000, 2100); // sent later, answered first: bound 100 at 2000
    noteAnswer(b, 1000, 1020); // sent earlier: bound 20 at 1000, 20.1 at 2000
    expect(offsetBound(b, 2000)).toBeCloseTo(20.1, 6);
  });

  it("gives no credit without a proof, and never a negative one", () => {
    expect(creditFor(newClockBound(), 1000, 1200, 2000)).toBe(0);
    const b = newClockBound();
    noteAnswer(b, 1000, 1010);
    expect(creditFor(b, 5000, 5210, 5500)).toBe(199); // (g − s) 210 less the bound 10.45 at the lease's end, rounded down
    expect(creditFor(b, 5000, 5005, 5500)).toBe(0);
  });
});

describe("clock bound: a holder places each use nearer its real moment", () => {
  const settings: LeaseSettings = { ttlMs: 1000, marginMs: 25, denyForMs: 1000, timeoutMs: 5000 };
  const policy: Policy = { name: "p", limit: 100, windowSec: 10, scope: "tenant" };
  const OFFSET = 7_777_777; // the object's clock runs this far ahead of the isolate's

  /** One holder and a real ledger; each exchange takes `out` ms to reach the object and `back` ms to return. */
  function rig() {
    const clock = { now: 1_800_000_000_000 };
    const ledger = newLedger();
    const reports: LeaseReport[][] = [];
    const grants: number[] = [];
    let delays = { out: 0, back: 0 };
    const exchange: Exchange = async (req) => {
      reports.push(req.reports);
      clock.now += delays.out;
      const g = clock.now + OFFSET;
      grants.push(g);
      const d = settleExchange(ledger, [policy], { ...req, holderId: "h" }, g);
      clock.now += delays.back;
      return { nowMs: g, lease: d.lease, states: d.states, violated: d.violated, shadowRemaining: [], revoked: [], revocationCursor: 0, keyScopes: null };
    };
    const holder = new LeaseHolder(`t-${crypto.randomUUID()}`, () => clock.now, () => new Promise<void>(() => {}));
    return {
      clock,
      reports,
      grants,
      /** One admission whose exchange has these delays; returns the true use on the object's clock. */
      async admitWith(out: number, back: number) {
        delays = { out, back };
        const o = await holder.admit(null, 1, settings, exchange, () => {});
        expect(o.kind).toBe("admitted");
        return clock.now + OFFSET;
      },
    };
  }

  it("after an answer that came straight back, a use granted over a 200 ms outbound delay is placed at its real moment, not 200 ms after it", async () => {
    const r = rig();
    await r.admitWith(0, 200); // the same round trip, all of it on the way back: proves the offset exactly
    r.clock.now += 5000; // that lease is over; the next request asks again
    const used = await r.admitWith(200, 0);
    const granted = r.grants.at(-1) as number;
    r.clock.now += 5000;
    await r.admitWith(0, 0); // carries the second lease's report
    const report = r.reports.at(-1)?.find((x) => x.used === 1) as LeaseReport;
    const placed = granted + (report.uses?.[0]?.offsetMs ?? NaN);
    expect(placed).toBeGreaterThanOrEqual(used); // never before the use (the exactness argument)
    expect(placed - used).toBeLessThanOrEqual(5); // within the use offsets' 5 ms resolution
  });

  it("a holder's first exchange proves nothing beyond itself: its use is placed a whole outbound delay late, as before", async () => {
    const r = rig();
    const used = await r.admitWith(200, 0);
    r.clock.now += 5000;
    await r.admitWith(0, 0);
    const report = r.reports.at(-1)?.find((x) => x.used === 1) as LeaseReport;
    expect((r.grants[0] as number) + (report.uses?.[0]?.offsetMs ?? NaN) - used).toBe(200);
  });
});
