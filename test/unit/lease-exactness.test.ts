/**
 * The lease design's exactness, as a seeded property over simulated deployments: K isolates (the real
 * LeaseHolder), each on its own clock offset, lease permits from one authority (the real ledger, on its
 * own clock) over a simulated network with random one-way delays, lost requests and lost answers (so
 * lost reports). Time is simulated: every "moment" is an event; nothing waits for real time.
 */
import { describe, expect, it } from "vitest";
import type { LeaseSettings } from "../../src/config/rate-limit";
import { admit } from "../../src/ratelimit/admission";
import { LeaseHolder, type Exchange, type Outcome } from "../../src/ratelimit/lease-holder";
import { newLedger, settleExchange, type Ledger } from "../../src/ratelimit/lease-ledger";
import type { Policy } from "../../src/shared/policy";
import type { LeaseAnswer } from "../../src/ratelimit/limiter-protocol";
import { rng } from "../support/rng";


interface Use {
  t: number;
  units: number;
  key: string | null;
}

/** The most units any closed interval [s, s+W] holds (uses sorted by time). */
function maxInAnyWindow(uses: readonly Use[], windowMs: number): number {
  let max = 0;
  let sum = 0;
  let lo = 0;
  for (let hi = 0; hi < uses.length; hi++) {
    sum += uses[hi]?.units ?? 0;
    while ((uses[lo]?.t ?? 0) < (uses[hi]?.t ?? 0) - windowMs) sum -= uses[lo++]?.units ?? 0;
    max = Math.max(max, sum);
  }
  return max;
}

const flush = async () => {
  for (let i = 0; i < 30; i++) await Promise.resolve();
};

interface World {
  policies: Policy[];
  isolates: number;
  spanMs: number;
  /** Requests per ms over all isolates. */
  rate: number;
  maxDelayMs: number;
  lossRate: number;
  /** Integration keys sending (each isolate holds a lease per key), and the policies each key has of its own. */
  keys?: number;
  keyPolicies?: Policy[];
  /** Route costs drawn from 1..maxCost. */
  maxCost?: number;
  /** How often the reports riding on a request are lost (the request itself arrives). */
  reportLossRate: number;
  /** Arrivals in bursts of up to 20 (otherwise a steady stream). */
  bursty: boolean;
  /** The adversary: each isolate also spends whatever its lease holds in one burst at the last moment the lease allows. */
  hoard: boolean;
  settings: LeaseSettings;
}

/** Runs one simulated deployment; returns the real times of every admission, and how many exchanges were made. */
async function simulate(world: World, random: () => number): Promise<{ uses: Use[]; exchanges: number; refused: number }> {
  const ledger: Ledger = newLedger();
  let now = 1_800_000_000_000; // real time
  const authorityOffset = Math.floor((random() - 0.5) * 3_600_000);
  const events: Array<{ at: number; seq: number; run: () => void }> = [];
  let seq = 0;
  const at = (t: number, run: () => void) => events.push({ at: t, seq: seq++, run });
  const uses: Use[] = [];
  const keyNames = Array.from({ length: world.keys ?? 1 }, (_, j) => (world.keys === undefined ? null : `key_${j}`));
  const keyPolicies = (world.keyPolicies ?? []).map((p) => ({ ...p, scope: "key" as const }));
  const policiesFor = (keyId: string | null) => [...world.policies.map((p) => ({ ...p, scope: "tenant" as const })), ...(keyId === null ? [] : keyPolicies)];
  let exchanges = 0;
  let refused = 0;

  const holders = Array.from({ length: world.isolates * keyNames.length }, (_, hk) => {
    const i = Math.floor(hk / keyNames.length);
    const keyId = keyNames[hk % keyNames.length] ?? null;
    const offset = Math.floor((random() - 0.5) * 3_600_000); // clocks disagree by up to half an hour
    const holder = new LeaseHolder(`t`, () => now + offset);
    const exchange: Exchange = (req) =>
      new Promise<LeaseAnswer>((resolve, reject) => {
        exchanges++;
        const lost = () => reject(new Error("lost"));
        if (random() < world.lossRate) return at(now + world.settings.timeoutMs, lost); // the request never arrives
        at(now + Math.floor(random() * world.maxDelayMs), () => {
          const objectNow = now + authorityOffset;
          const reports = random() < world.reportLossRate ? [] : req.reports; // a lost return: the permits stay counted
          const d = settleExchange(ledger, policiesFor(keyId), { ...req, keyId, reports, holderId: `h${i}` }, objectNow);
          const answer: LeaseAnswer = { nowMs: objectNow, lease: d.lease, states: d.states, violated: d.violated, shadowRemaining: [], revoked: [], revocationCursor: 0 };
          if (random() < world.lossRate) return at(now + world.settings.timeoutMs, lost); // the answer never arrives
          at(now + Math.floor(random() * world.maxDelayMs), () => resolve(answer));
        });
      });
    return { holder, exchange, offset, keyId, hoarded: new Set<string>() };
  });

  const record = (o: Outcome, units: number, key: string | null) => {
    if (o.kind === "admitted") uses.push({ t: now, units, key });
    else if (o.kind === "refused") refused++;
  };
  // Arrivals: a steady stream with occasional bursts, or (bursty worlds) large bursts that use up a lease
  // in one go, spread unevenly over the isolates.
  for (let t = 0; t < world.spanMs; ) {
    t += Math.max(0, Math.floor(-Math.log(1 - random()) / (world.bursty ? world.rate / 10 : world.rate)));
    const i = Math.floor(random() ** 2 * world.isolates) * keyNames.length + Math.floor(random() * keyNames.length);
    const cost = 1 + Math.floor(random() * (world.maxCost ?? 1));
    const burst = world.bursty ? 1 + Math.floor(random() * 19) : random() < 0.05 ? 1 + Math.floor(random() * 20) : 1;
    for (let b = 0; b < burst; b++) {
      at(now + t + (world.bursty ? Math.floor(random() * 3) : 0), () => {
        const h = holders[i];
        if (h === undefined) return;
        void admit(h.holder, h.keyId, cost, world.settings, h.exchange, () => {}).then((o) => record(o, cost, h.keyId));
      });
    }
  }
  // Reads the holder's private lease, as only an adversary with perfect timing could.
  const hoardLate = (h: (typeof holders)[number]) => {
    const leases = (h.holder as unknown as { held: Array<{ id: string; left: number; usableUntilMs: number }> }).held;
    for (const held of leases) {
      if (h.hoarded.has(held.id)) continue;
      h.hoarded.add(held.id);
      const last = held.usableUntilMs - 1 - h.offset;
      for (let b = 0; b < held.left; b++) {
        at(last, () => {
          void admit(h.holder, h.keyId, 1, world.settings, h.exchange, () => {}).then((o) => record(o, 1, h.keyId));
        });
      }
    }
  };
  while (events.length > 0) {
    events.sort((a, b) => a.at - b.at || a.seq - b.seq);
    const e = events.shift();
    if (e === undefined) break;
    now = Math.max(now, e.at);
    e.run();
    await flush();
    if (world.hoard) for (const h of holders) hoardLate(h);
  }
  return { uses: uses.sort((a, b) => a.t - b.t), exchanges, refused };
}

const settings = (ttlMs: number): LeaseSettings => ({ ttlMs, marginMs: 25, denyForMs: ttlMs, timeoutMs: ttlMs / 2 });

describe("edge admission: exact across isolates", () => {
  it("never admits more than L in any interval of length W, summed over isolates, whatever the delays, losses and clock offsets (seeded)", async () => {
    const random = rng(20261202);
    for (let run = 0; run < 40; run++) {
      const windowSec = [1, 1, 2, 5][Math.floor(random() * 4)] ?? 1;
      const limit = 5 + Math.floor(random() * 60);
      const policies: Policy[] = [{ name: "p", limit, windowSec }];
      if (run % 3 === 0) policies.push({ name: "q", limit: limit * 3, windowSec: windowSec * 6 });
      const world: World = {
        policies,
        isolates: 2 + Math.floor(random() * 7),
        spanMs: windowSec * 1000 * 4,
        rate: ((limit / (windowSec * 1000)) * (0.5 + random() * 4)),
        maxDelayMs: Math.floor(random() * 300),
        lossRate: random() * 0.2,
        reportLossRate: run % 8 < 4 ? 1 : random(),
        bursty: run % 2 === 1,
        hoard: run % 4 < 2,
        settings: settings(200 + Math.floor(random() * 800)),
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
      const world: World = {
        policies: [{ name: "p", limit, windowSec }],
        keys: 1 + Math.floor(random() * 3),
        keyPolicies: [{ name: "k", limit: Math.max(5, Math.floor(limit / 3)), windowSec }],
        maxCost: 1 + Math.floor(random() * 5),
        isolates: 2 + Math.floor(random() * 5),
        spanMs: windowSec * 1000 * 4,
        rate: (limit / (windowSec * 1000)) * (0.5 + random() * 3),
        maxDelayMs: Math.floor(random() * 200),
        lossRate: random() * 0.1,
        reportLossRate: run % 2 === 0 ? 1 : random(),
        bursty: run % 3 === 1,
        hoard: run % 4 < 2,
        settings: settings(200 + Math.floor(random() * 800)),
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

  it("gives a saturating tenant at least 95% of L per W across 4 isolates with a 75 ms one-way delay", async () => {
    const random = rng(7);
    const windowSec = 10;
    const limit = 300;
    const world: World = { policies: [{ name: "p", limit, windowSec }], isolates: 4, spanMs: 60_000, rate: (limit / (windowSec * 1000)) * 3, maxDelayMs: 75, lossRate: 0, reportLossRate: 0, bursty: false, hoard: false, settings: settings(1000) };
    const { uses } = await simulate(world, random);
    // Judge the steady state: skip the first window (the tenant starts with its whole budget unused).
    const start = (uses[0]?.t ?? 0) + windowSec * 1000;
    const steady = uses.filter((u) => u.t >= start && u.t < start + 40_000).length;
    expect(maxInAnyWindow(uses, windowSec * 1000)).toBeLessThanOrEqual(limit);
    expect(steady / ((limit * 40_000) / (windowSec * 1000))).toBeGreaterThanOrEqual(0.95);
  });

  it("admits from permits in hand: under half the limit, exchanges stay under 2% of admissions", async () => {
    const random = rng(11);
    const world: World = { policies: [{ name: "p", limit: 60_000, windowSec: 60 }], isolates: 4, spanMs: 20_000, rate: 0.5, maxDelayMs: 75, lossRate: 0, reportLossRate: 0, bursty: false, hoard: false, settings: settings(1000) };
    const { uses, exchanges, refused } = await simulate(world, random);
    expect(refused).toBe(0);
    expect(exchanges / uses.length).toBeLessThan(0.02);
  });
});
