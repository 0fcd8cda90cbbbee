import { describe, expect, it } from "vitest";
import type { Policy } from "../../src/shared/policy";
import { BUCKETS_PER_WINDOW, bucketOf, bucketStartMs, decide, evaluate, prune, type BucketCounts, type Counter } from "../../src/ratelimit/sliding-window";
import { rng } from "../support/rng";

const B = BUCKETS_PER_WINDOW;

/** A limiter over the pure algorithm: bucket maps per window, like the Durable Object keeps them. */
function limiter(policies: Policy[]) {
  const windows = new Map<number, BucketCounts>();
  const counter = (p: Policy): Counter => ({ store: `tenant#${p.windowSec}`, windowSec: p.windowSec, counts: store(p.windowSec) });
  const store = (windowSec: number): BucketCounts => {
    let counts = windows.get(windowSec);
    if (counts === undefined) windows.set(windowSec, (counts = new Map()));
    return counts;
  };
  return {
    windows,
    store,
    at: (nowMs: number) => decide(policies, counter, nowMs),
    /** Sends `n` requests at `nowMs`; returns how many were admitted. */
    burst(nowMs: number, n: number): number {
      let admitted = 0;
      for (let i = 0; i < n; i++) if (decide(policies, counter, nowMs).allowed) admitted++;
      return admitted;
    },
  };
}

const policy = (limit: number, windowSec: number, name = "p"): Policy => ({ name, limit, windowSec });


/** The most admissions any closed interval [s, s+W] holds; checking intervals that end at an admission suffices. */
function maxInAnyWindow(times: number[], windowMs: number): number {
  let max = 0;
  let lo = 0;
  for (let hi = 0; hi < times.length; hi++) {
    while ((times[lo] ?? 0) < (times[hi] ?? 0) - windowMs) lo++;
    max = Math.max(max, hi - lo + 1);
  }
  return max;
}

/** Arrival times (sorted, ms) for one of several demand shapes over `spanMs`. */
function arrivals(random: () => number, shape: number, windowMs: number, spanMs: number, limit: number): number[] {
  const out: number[] = [];
  const start = 1_700_000_000_000 + Math.floor(random() * windowMs);
  const g = windowMs / B;
  const n = Math.ceil((spanMs / windowMs) * limit * (1.5 + random() * 3));
  for (let i = 0; i < n; i++) {
    const u = random() * spanMs;
    switch (shape) {
      case 0: // uniform
        out.push(start + Math.floor(u));
        break;
      case 1: // clustered just around bucket boundaries
        out.push(start + Math.max(0, Math.round(Math.round(u / g) * g + (random() - 0.5) * 4)));
        break;
      case 2: // clustered just around window boundaries
        out.push(start + Math.max(0, Math.round(Math.round(u / windowMs) * windowMs + (random() - 0.5) * 6)));
        break;
      default: // bursts of many requests in the same millisecond
        out.push(start + Math.floor(Math.floor(u / (g * 7)) * g * 7));
    }
  }
  return out.sort((a, b) => a - b);
}

describe("sliding window: no over-admission", () => {
  it("never admits more than L in any interval of length W over many random arrival patterns (seeded)", () => {
    const random = rng(20260514);
    const windows = [1, 2, 7, 11, 17, 60, 90, 3600];
    let refused = 0;
    for (let run = 0; run < 240; run++) {
      const windowSec = windows[run % windows.length] ?? 60;
      const limit = 1 + Math.floor(random() * 40);
      const windowMs = windowSec * 1000;
      const times = arrivals(random, run % 4, windowMs, windowMs * 4, limit);
      const lim = limiter([policy(limit, windowSec)]);
      const admitted = times.filter((t) => lim.at(t).allowed);
      refused += times.length - admitted.length;
      expect(maxInAnyWindow(admitted, windowMs), `run ${run}: L=${limit}, W=${windowSec}s`).toBeLessThanOrEqual(limit);
    }
    expect(refused).toBeGreaterThan(0); // the patterns really pushed past the limit
  });

  it("refuses a second batch just after a window edge when L were admitted just before it", () => {
    const W = 60_000;
    const edge = 1_700_000_040_000; // a multiple of W: a window and a bucket boundary
    const lim = limiter([policy(10, 60)]);
    expect(lim.burst(edge - 1, 10)).toBe(10);
    expect(lim.burst(edge + 1, 10)).toBe(0);
    expect(lim.burst(edge + W - 1, 10)).toBe(0); // [edge-1, edge+W-1] is exactly W long
    expect(lim.burst(edge + W, 10)).toBe(10);
  });

  it("refuses more just after a bucket boundary when L were admitted just before it", () => {
    const g = 1000; // bucket width of a 1m window
    const boundary = 1_700_000_017_000;
    const lim = limiter([policy(5, 60)]);
    expect(lim.burst(boundary - 1, 5)).toBe(5);
    expect(lim.burst(boundary, 5)).toBe(0);
    expect(lim.burst(boundary + 59 * g, 5)).toBe(0);
  });

  it("counts an admission exactly W earlier (closed interval)", () => {
    const lim = limiter([policy(1, 1)]);
    const t0 = 1_700_000_000_123;
    expect(lim.at(t0).allowed).toBe(true);
    expect(lim.at(t0 + 1000).allowed).toBe(false);
  });

  it("keeps bucket boundaries exact for windows that are not a whole number of ms per bucket", () => {
    // 7 s / 600 = 11.667 ms: bucket 3 starts at 35.0 ms, bucket 4 at 46.67 -> first whole ms 47.
    expect(bucketStartMs(7, 3)).toBe(35);
    expect(bucketStartMs(7, 4)).toBe(47);
    expect(bucketOf(7, 46)).toBe(3);
    expect(bucketOf(7, 47)).toBe(4);
  });
});

describe("sliding window: truthful retry time", () => {
  it("admits exactly at the stated retry time and refuses 1 ms before it", () => {
    for (const windowSec of [1, 7, 60, 3600, 86_400]) {
      const lim = limiter([policy(3, windowSec)]);
      const t0 = 1_700_000_000_000 + 4321;
      expect(lim.burst(t0, 3)).toBe(3);
      const refused = lim.at(t0 + 10);
      expect(refused.allowed).toBe(false);
      const retryAt = refused.violated?.retryAtMs ?? 0;
      expect(retryAt).toBeGreaterThan(t0 + windowSec * 1000);
      expect(retryAt - t0).toBeLessThanOrEqual(windowSec * 1000 + Math.ceil((windowSec * 1000) / B));
      expect(lim.at(retryAt - 1).allowed).toBe(false);
      expect(lim.at(retryAt).allowed).toBe(true);
    }
  });

  it("states a retry time after which a client waiting that long is admitted, whatever the pattern", () => {
    const random = rng(7);
    for (let run = 0; run < 200; run++) {
      const windowSec = [1, 11, 60, 3600][run % 4] ?? 60;
      const limit = 1 + Math.floor(random() * 20);
      const lim = limiter([policy(limit, windowSec)]);
      let t = 1_700_000_000_000;
      let refusedAt: { at: number; retryAt: number } | null = null;
      while (refusedAt === null) {
        t += Math.floor(random() * ((windowSec * 1000) / limit));
        const d = lim.at(t);
        if (!d.allowed) refusedAt = { at: t, retryAt: d.violated?.retryAtMs ?? 0 };
      }
      expect(refusedAt.retryAt).toBeGreaterThan(refusedAt.at);
      expect(lim.at(refusedAt.retryAt - 1).allowed).toBe(false);
      expect(lim.at(refusedAt.retryAt).allowed).toBe(true);
    }
  });

  it("frees only as many places as the oldest buckets held", () => {
    const lim = limiter([policy(4, 60)]);
    const t0 = 1_700_000_000_000;
    lim.burst(t0, 1);
    lim.burst(t0 + 5000, 3);
    const refused = lim.at(t0 + 6000);
    // Buckets of 100 ms: t0's leaves the span at t0 + W + one bucket.
    expect(refused.violated?.retryAtMs).toBe(t0 + 60_100);
    expect(lim.burst(t0 + 60_100, 5)).toBe(1);
    expect(lim.at(t0 + 60_101).violated?.retryAtMs).toBe(t0 + 65_100);
  });
});

describe("sliding window: utilization", () => {
  /** Saturating demand: after every refusal the next request comes exactly at the stated retry time. */
  function saturate(limit: number, windowSec: number, windows: number): number {
    const lim = limiter([policy(limit, windowSec)]);
    const windowMs = windowSec * 1000;
    const start = 1_700_000_000_000;
    let t = start;
    let admitted = 0;
    while (t < start + windows * windowMs) {
      const d = lim.at(t);
      if (d.allowed) admitted++;
      else t = d.violated?.retryAtMs ?? t + 1;
    }
    return admitted;
  }

  it.each([1, 2, 7, 11, 17, 60, 3600, 86_400])("admits at least 97 percent of L per W under saturating demand (W = %is)", (windowSec) => {
    // Long enough that the first window's start-up burst does not hide the steady-state rate.
    const limit = 20;
    const windows = 1000;
    const admitted = saturate(limit, windowSec, windows);
    expect(admitted / (limit * windows)).toBeGreaterThanOrEqual(0.97);
    expect(admitted).toBeLessThanOrEqual(limit * windows);
  });

  it("admits at least 97% of L per W for evenly spaced demand at twice the limit", () => {
    const limit = 120;
    const windowMs = 60_000;
    const lim = limiter([policy(limit, 60)]);
    const start = 1_700_000_000_000;
    let admitted = 0;
    const windows = 50;
    for (let t = start; t < start + windows * windowMs; t += windowMs / (2 * limit)) if (lim.at(t).allowed) admitted++;
    expect(admitted / (limit * windows)).toBeGreaterThanOrEqual(0.97);
  });
});

describe("sliding window: several policies", () => {
  const burst = policy(3, 60, "burst");
  const hourly = policy(5, 3600, "hourly");

  it("admits only when every policy admits and names the one that refused", () => {
    const lim = limiter([burst, hourly]);
    const t0 = 1_700_000_000_000;
    expect(lim.burst(t0, 3)).toBe(3);
    const byBurst = lim.at(t0 + 1);
    expect(byBurst.allowed).toBe(false);
    expect(byBurst.violated?.policy).toEqual(burst);
    expect(lim.burst(t0 + 61_000, 5)).toBe(2);
    const byHourly = lim.at(t0 + 62_000);
    expect(byHourly.violated?.policy).toEqual(hourly);
    expect(byHourly.states.map((s) => [s.policy.name, s.remaining])).toEqual([
      ["burst", 1],
      ["hourly", 0],
    ]);
  });

  it("names the policy with the latest retry time when several refuse", () => {
    const lim = limiter([burst, policy(3, 3600, "hourly")]);
    const t0 = 1_700_000_000_000;
    lim.burst(t0, 3);
    const d = lim.at(t0 + 1);
    expect(d.states.filter((s) => s.retryAtMs !== null)).toHaveLength(2);
    expect(d.violated?.policy.name).toBe("hourly");
    expect(lim.at((d.violated?.retryAtMs ?? 0) - 1).allowed).toBe(false);
    expect(lim.at(d.violated?.retryAtMs ?? 0).allowed).toBe(true);
  });

  it("does not count a request that one policy refused against the others", () => {
    const lim = limiter([burst, hourly]);
    const t0 = 1_700_000_000_000;
    lim.burst(t0, 3);
    lim.burst(t0 + 1, 10);
    expect(evaluate(hourly, lim.store(3600), t0 + 2).used).toBe(3);
  });

  it("shares the counts of policies with the same window", () => {
    const lim = limiter([policy(2, 60, "a"), policy(5, 60, "b")]);
    const t0 = 1_700_000_000_000;
    expect(lim.burst(t0, 5)).toBe(2);
    expect(lim.windows.size).toBe(1);
    expect(lim.at(t0).states.map((s) => s.used)).toEqual([2, 2]);
  });
});

describe("sliding window: the states a grant answers with", () => {
  it("are what evaluate says after the grant, for random counts, grants recorded ahead, shared and shadow counters", () => {
    const random = rng(2112);
    const t0 = 1_700_000_000_000;
    for (let run = 0; run < 300; run++) {
      const policies = [policy(1 + Math.floor(random() * 40), 60, "a"), policy(1 + Math.floor(random() * 60), 60, "b"), { ...policy(1 + Math.floor(random() * 20), 10, "s"), mode: "shadow" as const }];
      const lim = limiter(policies);
      const nowMs = t0 + Math.floor(random() * 120_000);
      // Counts around the span (old ones, counted ones, ones recorded ahead by earlier leases), or only ahead
      // (the grant's bucket is then the oldest counted), few or many.
      const aheadOnly = random() < 0.3;
      const n = [0, 1, 3, 30][Math.floor(random() * 4)] ?? 0;
      for (let i = 0; i < n; i++) {
        const windowSec = random() < 0.5 ? 60 : 10;
        const k = bucketOf(windowSec, nowMs) + (aheadOnly ? Math.floor(random() * 20) : Math.floor(random() * (B + 40)) - B - 20);
        lim.store(windowSec).set(k, 1 + Math.floor(random() * 2));
      }
      const ttlMs = Math.floor(random() * 2000);
      const counter = (p: Policy): Counter => ({ store: `tenant#${p.windowSec}`, windowSec: p.windowSec, counts: lim.store(p.windowSec) });
      const d = decide(policies, counter, nowMs, { size: (headroom) => Math.floor(random() * (headroom + 1)), recordAtMs: nowMs + ttlMs });
      if (!d.allowed) continue;
      expect(d.states).toEqual(policies.map((p) => evaluate(p, lim.store(p.windowSec), nowMs)));
    }
  });
});

describe("sliding window: memory", () => {
  it.each([1, 7, 60, 86_400])("keeps at most B+1 buckets per window after prune, whatever L (W = %is)", (windowSec) => {
    const lim = limiter([policy(1_000_000, windowSec)]);
    const windowMs = windowSec * 1000;
    const start = 1_700_000_000_000;
    const step = Math.max(1, Math.floor(windowMs / 250));
    for (let t = start; t < start + 5 * windowMs; t += step) {
      lim.at(t);
      prune(lim.store(windowSec), windowSec, t);
      expect(lim.store(windowSec).size).toBeLessThanOrEqual(B + 1);
    }
  });

  it("drops nothing a policy still counts", () => {
    const lim = limiter([policy(10, 60)]);
    const t0 = 1_700_000_000_000;
    lim.burst(t0, 10);
    prune(lim.store(60), 60, t0 + 60_099);
    expect(lim.at(t0 + 60_099).allowed).toBe(false);
    expect(prune(lim.store(60), 60, t0 + 60_100)).toEqual([bucketOf(60, t0)]);
    expect(lim.store(60).size).toBe(0);
  });

  it("reports nothing used and no reset time for an empty window", () => {
    expect(evaluate(policy(5, 60), new Map(), 1_700_000_000_000)).toMatchObject({ used: 0, remaining: 5, resetMs: 0, retryAtMs: null });
  });
});
