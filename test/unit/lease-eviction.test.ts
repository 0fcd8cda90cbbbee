/**
 * The isolate keeps at most 10,000 lease holders (one per tenant); the one dropped past that gives its unused
 * permits back in the background instead of leaving them counted until W after its lease's end.
 */
import { describe, expect, it } from "vitest";
import type { LeaseSettings } from "../../src/config/rate-limit";
import { holderCount, holderFor, setLeaseClock } from "../../src/ratelimit/admission";
import type { Exchange } from "../../src/ratelimit/lease-holder";
import type { LeaseRequest } from "../../src/ratelimit/limiter-protocol";
import type { Policy } from "../../src/shared/policy";

const settings: LeaseSettings = { ttlMs: 1000, marginMs: 25, denyForMs: 1000, timeoutMs: 5000 };

describe("lease holders: the bound", () => {
  it("gives a dropped holder's unused permits back: past 10,000 tenants the oldest holder reports them at once", async () => {
    const now = 1_800_000_000_000;
    setLeaseClock(() => now, () => new Promise<void>(() => {})); // a lease's end never comes in this test
    const policy: Policy = { name: "p", limit: 1000, windowSec: 60, scope: "tenant" };
    const sent: Array<Omit<LeaseRequest, "defaults" | "holderId">> = [];
    // An object that grants 5 permits to whatever need: the holder leaves 4 unused.
    const exchange: Exchange = (req) => {
      sent.push(req);
      const state = { policy, used: 5, remaining: 995, resetMs: 0, retryAtMs: null };
      return Promise.resolve({ nowMs: now, lease: req.want > 0 ? { id: `l${sent.length}`, permits: 5, ttlMs: req.ttlMs, keyId: null } : null, states: [state], violated: null, shadowRemaining: [], revoked: [], revocationCursor: 0, keyScopes: null });
    };
    const background: Array<Promise<unknown>> = [];
    const first = holderFor("tenant-first", (p) => background.push(p));
    expect((await first.admit(null, 1, settings, exchange, (p) => background.push(p))).kind).toBe("admitted");
    expect(sent).toHaveLength(1);
    for (let i = holderCount(); i < 10_000; i++) holderFor(`tenant-${i}`, (p) => background.push(p));
    expect(holderCount()).toBe(10_000);
    const before = background.length;
    holderFor("tenant-one-more", (p) => background.push(p)); // drops "tenant-first"
    expect(holderCount()).toBe(10_000);
    expect(background).toHaveLength(before + 1); // the give-back, handed to the request's waitUntil
    await background[before];
    expect(sent).toHaveLength(2);
    expect(sent[1]).toMatchObject({ want: 0, reports: [{ id: "l1", used: 1 }] });
    setLeaseClock(null);
  });
});
