/**
 * The ledger's handling of a lease report (src/ratelimit/lease-ledger.ts), and the use marks a lease keeps
 * for it (src/ratelimit/held-lease.ts): each used permit is counted at its own use, never earlier.
 */
import { describe, expect, it } from "vitest";
import { noteUseAt } from "../../src/ratelimit/held-lease";
import { newLedger, settleExchange, type UseMark } from "../../src/ratelimit/lease-ledger";
import type { Policy } from "../../src/shared/policy";

const policy: Policy = { name: "p", limit: 10, windowSec: 10, scope: "tenant" };
const g = 1_800_000_000_000;

/** Grants 10 permits at g for 1 s, reports them used as `uses` say, and returns the remaining at `atMs`. */
function remainingAfterReport(uses: UseMark[], atMs: number): number {
  const ledger = newLedger();
  const grant = settleExchange(ledger, [policy], { holderId: "h", want: 10, need: 10, ttlMs: 1000, reports: [] }, g);
  const id = grant.lease?.id ?? "";
  const used = uses.reduce((n, m) => n + m.count, 0);
  const last = uses[uses.length - 1]?.offsetMs ?? 0;
  settleExchange(ledger, [policy], { holderId: "h", want: 0, ttlMs: 1000, reports: [{ id, used, lastUseOffsetMs: last, uses }] }, g + 1500);
  return settleExchange(ledger, [policy], { holderId: "h", want: 0, ttlMs: 1000, reports: [] }, atMs).states[0]?.remaining ?? -1;
}

describe("lease reports: each used permit counted at its own use", () => {
  it("stops counting a permit W after its own use, not W after the lease's last use", () => {
    // One permit used at the grant, one 900 ms later: 10.5 s after the grant only the second still counts.
    expect(remainingAfterReport([{ offsetMs: 0, count: 1 }, { offsetMs: 900, count: 1 }], g + 10_500)).toBe(9);
    // Both still count just before W after the first use.
    expect(remainingAfterReport([{ offsetMs: 0, count: 1 }, { offsetMs: 900, count: 1 }], g + 9_900)).toBe(8);
  });

  it("never counts more used permits than were granted, nor any at an offset past the lease's life", () => {
    // A report claiming 50 uses at offsets past the life: at most the 10 granted, counted at the lease's end at the latest.
    expect(remainingAfterReport([{ offsetMs: 5_000, count: 50 }], g + 10_900)).toBe(0);
    expect(remainingAfterReport([{ offsetMs: 5_000, count: 50 }], g + 11_100)).toBe(10);
  });

  it("rounds offsets up and merges neighbours at the later offset past the cap, so every mark bounds its uses", () => {
    const marks: UseMark[] = [];
    const uses: number[] = [];
    for (let i = 0; i < 200; i++) {
      const at = i * 7 + (i % 3);
      uses.push(at);
      noteUseAt(marks, at, 1);
    }
    expect(marks.length).toBeLessThanOrEqual(16);
    expect(marks.reduce((n, m) => n + m.count, 0)).toBe(200);
    // The k-th use (in time order) is at or before the mark that holds it.
    let k = 0;
    for (const m of marks) for (let c = 0; c < m.count; c++) expect(m.offsetMs).toBeGreaterThanOrEqual(uses[k++] ?? Infinity);
  });
});

describe("a refusal's retry time counts the permits about to come back", () => {
  const tenant: Policy = { name: "p", limit: 60, windowSec: 60, scope: "tenant" };
  const ttlMs = 10_000;
  /** Isolate A leases 1 + 10 ahead of need, then B takes the rest of the budget: L = 60 in all. */
  function parked() {
    const ledger = newLedger();
    const a = settleExchange(ledger, [tenant], { holderId: "A", want: 20, need: 1, ttlMs, reports: [] }, g);
    const b = settleExchange(ledger, [tenant], { holderId: "B", want: 60, need: 60, ttlMs, reports: [] }, g);
    expect([a.lease?.permits, b.lease?.permits]).toEqual([11, 49]);
    return ledger;
  }

  it("tells a refused isolate to come back when a quiet isolate's lease ends and gives back what it leased ahead, not a window later", () => {
    const ledger = parked();
    const refused = settleExchange(ledger, [tenant], { holderId: "B", want: 1, need: 1, ttlMs, reports: [] }, g + 1000);
    expect(refused.lease).toBeNull();
    expect(refused.violated?.retryAtMs).toBe(g + ttlMs + 250); // A's lease end, and its report's trip
  });

  it("does not count them once that isolate has asked again (a busy isolate uses what it holds): the retry time is when buckets leave", () => {
    const ledger = parked();
    settleExchange(ledger, [tenant], { holderId: "A", want: 1, need: 1, ttlMs, reports: [] }, g + 500); // refused, but A is drawing
    const refused = settleExchange(ledger, [tenant], { holderId: "B", want: 1, need: 1, ttlMs, reports: [] }, g + 1000);
    expect(refused.violated?.retryAtMs).toBeGreaterThan(g + ttlMs + 60_000);
  });

  it("counts only what was leased ahead: a request needing more than comes back waits for the buckets", () => {
    const ledger = parked();
    const refused = settleExchange(ledger, [tenant], { holderId: "B", want: 11, need: 11, min: 11, ttlMs, reports: [] }, g + 1000);
    expect(refused.violated?.retryAtMs).toBeGreaterThan(g + ttlMs + 60_000);
  });

  it("takes a lease whose report is more than a second late as lost: its permits are no longer counted as coming back", () => {
    const ledger = parked();
    const late = settleExchange(ledger, [tenant], { holderId: "B", want: 1, need: 1, ttlMs, reports: [] }, g + ttlMs + 1000);
    expect(late.violated?.retryAtMs).toBeGreaterThan(g + ttlMs + 60_000);
    const inTime = settleExchange(parked(), [tenant], { holderId: "B", want: 1, need: 1, ttlMs, reports: [] }, g + ttlMs + 999);
    expect(inTime.violated?.retryAtMs).toBe(g + ttlMs + 999); // already due: retry now
  });

  it("is true: at the stated time, with A's report of its unused permits in, B is granted", () => {
    const ledger = parked();
    const refused = settleExchange(ledger, [tenant], { holderId: "B", want: 1, need: 1, ttlMs, reports: [] }, g + 1000);
    const lease = [...ledger.leases.values()].find((l) => l.holderId === "A");
    settleExchange(ledger, [tenant], { holderId: "A", want: 0, ttlMs, reports: [{ id: lease?.id ?? "", used: 1, lastUseOffsetMs: 0, uses: [{ offsetMs: 0, count: 1 }] }] }, g + ttlMs + 100);
    const retried = settleExchange(ledger, [tenant], { holderId: "B", want: 1, need: 1, ttlMs, reports: [] }, refused.violated?.retryAtMs ?? 0);
    expect(retried.lease?.permits).toBeGreaterThanOrEqual(1);
  });
});
