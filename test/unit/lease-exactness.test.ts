/**
 * The lease design's exactness, as a seeded property over simulated deployments (test/support/lease-sim.ts):
 * isolates (the real LeaseHolder), each on its own clock offset, lease permits from one authority (the real
 * ledger, on its own clock) over a network with random one-way delays, lost requests, lost answers and lost
 * reports, and an adversary that spends every lease at the last moment it allows. Nothing waits for real time.
 * The other direction (no under-admission) is lease-entitlement.test.ts.
 */
import { describe, expect, it } from "vitest";
import type { LeaseSettings } from "../../src/config/rate-limit";
import type { Policy } from "../../src/shared/policy";
import { maxInAnyWindow, simulate, type Arrival, type World } from "../support/lease-sim";
import { rng } from "../support/rng";

const settings = (ttlMs: number): LeaseSettings => ({ ttlMs, marginMs: 25, denyForMs: ttlMs, timeoutMs: ttlMs / 2 });

/**
 * Arrivals at `perMs` over `spanMs`: a steady stream with occasional bursts, or (bursty) bursts of up to 20
 * that use up a lease in one go, spread unevenly over the isolates and keys.
 */
function arrivals(random: () => number, o: { spanMs: number; perMs: number; isolates: number; keys: Array<string | null>; maxCost: number; bursty: boolean }): Arrival[] {
  const out: Arrival[] = [];
  for (let t = 0; t < o.spanMs; ) {
    t += Math.max(0, Math.floor(-Math.log(1 - random()) / (o.bursty ? o.perMs / 10 : o.perMs)));
    const isolate = Math.floor(random() ** 2 * o.isolates);
    const key = o.keys[Math.floor(random() * o.keys.length)] ?? null;
    const cost = 1 + Math.floor(random() * o.maxCost);
    const burst = o.bursty ? 1 + Math.floor(random() * 19) : random() < 0.05 ? 1 + Math.floor(random() * 20) : 1;
    for (let b = 0; b < burst; b++) out.push({ t: t + (o.bursty ? Math.floor(random() * 3) : 0), isolate, key, cost });
  }
  return out.sort((a, b) => a.t - b.t);
}

describe("edge admission: exact across isolates", () => {
  it("never admits more than L in any interval of length W, summed over isolates, whatever the delays, losses, clock offsets and drifts up to 100 ppm (seeded)", async () => {
    const random = rng(20261202);
    for (let run = 0; run < 40; run++) {
      const windowSec = [1, 1, 2, 5][Math.floor(random() * 4)] ?? 1;
      const limit = 5 + Math.floor(random() * 60);
      const policies: Policy[] = [{ name: "p", limit, windowSec }];
      if (run % 3 === 0) policies.push({ name: "q", limit: limit * 3, windowSec: windowSec * 6 });
      const isolates = 2 + Math.floor(random() * 7);
      const perMs = (limit / (windowSec * 1000)) * (0.5 + random() * 4);
      const world: World = {
        policies,
        isolates,
        arrivals: arrivals(random, { spanMs: windowSec * 1000 * 4, perMs, isolates, keys: [null, "key_a", "key_b"], maxCost: 1, bursty: run % 2 === 1 }),
        maxDelayMs: Math.floor(random() * 300),
        lossRate: random() * 0.2,
        reportLossRate: run % 8 < 4 ? 1 : random(),
        hoard: run % 4 < 2,
        settings: settings(200 + Math.floor(random() * 800)),
        maxDriftPpm: 100,
      };
      const { uses } = await simulate(world, random);
      expect(uses.length).toBeGreaterThan(0);
      for (const p of policies) {
        expect(maxInAnyWindow(uses, p.windowSec * 1000), `run ${run}, policy ${p.name}`).toBeLessThanOrEqual(p.limit);
      }
    }
  });

  it("stays exact for every tenant and key policy with route costs and several keys per isolate (seeded)", async () => {
    const random = rng(20261212);
    for (let run = 0; run < 24; run++) {
      const windowSec = [1, 2, 5][Math.floor(random() * 3)] ?? 1;
      const limit = 20 + Math.floor(random() * 60);
      const keys = Array.from({ length: 1 + Math.floor(random() * 3) }, (_, j) => `key_${j}`);
      const isolates = 2 + Math.floor(random() * 5);
      const perMs = (limit / (windowSec * 1000)) * (0.5 + random() * 3);
      const world: World = {
        policies: [{ name: "p", limit, windowSec }],
        keyPolicies: [{ name: "k", limit: Math.max(5, Math.floor(limit / 3)), windowSec }],
        isolates,
        arrivals: arrivals(random, { spanMs: windowSec * 1000 * 4, perMs, isolates, keys, maxCost: 1 + Math.floor(random() * 5), bursty: run % 3 === 1 }),
        maxDelayMs: Math.floor(random() * 200),
        lossRate: random() * 0.1,
        reportLossRate: run % 2 === 0 ? 1 : random(),
        hoard: run % 4 < 2,
        settings: settings(200 + Math.floor(random() * 800)),
        maxDriftPpm: 100,
      };
      const { uses } = await simulate(world, random);
      expect(uses.length).toBeGreaterThan(0);
      const w = windowSec * 1000;
      expect(maxInAnyWindow(uses, w), `run ${run}, tenant policy`).toBeLessThanOrEqual(limit);
      for (const key of new Set(uses.map((u) => u.key))) {
        const own = uses.filter((u) => u.key === key);
        expect(maxInAnyWindow(own, w), `run ${run}, ${key}'s policy`).toBeLessThanOrEqual(world.keyPolicies?.[0]?.limit ?? 0);
      }
    }
  });

  it("admits from permits in hand: under half the limit, exchanges stay under 2% of admissions", async () => {
    const random = rng(11);
    const world: World = {
      policies: [{ name: "p", limit: 60_000, windowSec: 60 }],
      isolates: 4,
      arrivals: arrivals(random, { spanMs: 20_000, perMs: 0.5, isolates: 4, keys: ["key_a", "key_b", null], maxCost: 1, bursty: false }),
      maxDelayMs: 75,
      lossRate: 0,
      reportLossRate: 0,
      hoard: false,
      settings: settings(1000),
    };
    const { uses, exchanges, refused } = await simulate(world, random);
    expect(refused).toBe(0);
    expect(exchanges / uses.length).toBeLessThan(0.02);
  });
});
