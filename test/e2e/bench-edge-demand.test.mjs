// The edge bench's sparse demand (bench/lib/edge-demand.mjs): the exact sliding-log oracle the sparse and hog
// rows are judged against, and the seeded schedules. Pure functions, plain Node.
import { describe, expect, it } from "vitest";
import { exactAdmissions, hogSchedule, sparseSchedule } from "../../bench/lib/edge-demand.mjs";
import { maxInWindow, targets } from "../../bench/lib/edge-report.mjs";
import { rng as seededRandom } from "../support/rng.ts";

const admittedTimes = (t, flags) => t.filter((_, i) => flags[i]);

/** The largest subset of `t` with at most `limit` in any closed interval of length `w`, by enumeration. */
function bruteForceMax(t, limit, w) {
  let best = 0;
  for (let mask = 0; mask < 1 << t.length; mask++) {
    const chosen = t.filter((_, i) => mask & (1 << i));
    if (chosen.length > best && maxInWindow(chosen, w) <= limit) best = chosen.length;
  }
  return best;
}

describe("exactAdmissions (the sliding-log oracle)", () => {
  it("counts an admission exactly W earlier inside the window (closed interval)", () => {
    expect([...exactAdmissions([0, 1000, 2000], 1, 1000)]).toEqual([1, 0, 1]);
    expect([...exactAdmissions([0, 1000, 1001], 1, 1000)]).toEqual([1, 0, 1]);
  });

  it("never puts more than L admissions in a closed window, and refuses only what would", () => {
    const random = seededRandom(7);
    for (let run = 0; run < 200; run++) {
      const limit = 1 + Math.floor(random() * 6);
      const w = 100 + Math.floor(random() * 900);
      const t = Array.from({ length: 40 }, () => Math.floor(random() * 3000)).sort((a, b) => a - b);
      const flags = exactAdmissions(t, limit, w);
      const admitted = admittedTimes(t, flags);
      expect(maxInWindow(admitted, w)).toBeLessThanOrEqual(limit);
      for (const [i, x] of t.entries()) {
        if (flags[i]) continue;
        const withIt = [...admitted, x].sort((a, b) => a - b);
        expect(maxInWindow(withIt, w)).toBe(limit + 1);
      }
    }
  });

  it("admits as many as the best admission log that keeps the limit", () => {
    const random = seededRandom(11);
    for (let run = 0; run < 60; run++) {
      const limit = 1 + Math.floor(random() * 3);
      const t = Array.from({ length: 11 }, () => Math.floor(random() * 40)).sort((a, b) => a - b);
      const count = exactAdmissions(t, limit, 10).reduce((a, b) => a + b, 0);
      expect(count).toBe(bruteForceMax(t, limit, 10));
    }
  });
});

describe("sparse and hog schedules", () => {
  const spec = { seed: 1801, limit: 100, windowMs: 60_000, load: 0.9, spanMs: 180_000, isolates: 8, keyCount: 8 };

  it("the same seed gives the same schedule, time-ordered, over every isolate and key", () => {
    const a = sparseSchedule(spec);
    expect(sparseSchedule(spec)).toEqual(a);
    expect(a.every((r, i) => i === 0 || a[i - 1].atMs <= r.atMs)).toBe(true);
    expect(a.every((r) => r.atMs >= 0 && r.atMs < spec.spanMs)).toBe(true);
    expect(new Set(a.map((r) => r.isolate)).size).toBe(8);
    expect(new Set(a.map((r) => r.key)).size).toBe(8);
    // 0.9 L per W over 3 W: 270 expected; a Poisson count that far off (± 5 sd) would be a wrong rate.
    expect(Math.abs(a.length - 270)).toBeLessThan(5 * Math.sqrt(270));
  });

  it("the hog sends exactly 2 L from the burst's start, and the other keys never stop", () => {
    const s = hogSchedule({ ...spec, load: 0.5, burstAtMs: 30_000 });
    const hog = s.filter((r) => r.key === 0);
    expect(hog.length).toBe(200);
    expect(hog[0].atMs).toBe(30_000);
    expect(hog.at(-1).atMs).toBeLessThan(30_000 + 60_000 / 2); // ~W/10 long; far below W/2
    const others = s.filter((r) => r.key !== 0);
    expect(others.some((r) => r.atMs > 150_000)).toBe(true);
    expect(Math.abs(others.length - 150)).toBeLessThan(5 * Math.sqrt(150));
  });
});

describe("the sparse and hog rows' targets", () => {
  const row = (fields) => ({ name: "sparse 0.9L 100/1m", demand: "sparse", limit: 100, windowSec: 60, admitted: 99, exactAdmitted: 100, admittedVsExact: 0.99, maxAdmittedInWindow: 100, ...fields });
  const failing = (runs) => targets(runs).filter((c) => c.judged && !c.met).map((c) => c.name);

  it("fail the section below 99% of the oracle or above L in a window, and pass at both bounds", () => {
    expect(failing([row({}), row({ name: "hog 0.5L 20/10s", demand: "hog" })])).toEqual([]);
    expect(failing([row({ admitted: 98, admittedVsExact: 0.98 })])).toEqual(["sparse 0.9L 100/1m: admittedVsExact >= 0.99"]);
    expect(failing([row({ demand: "hog", admittedVsExact: 0.5 })])).toEqual(["sparse 0.9L 100/1m: admittedVsExact >= 0.99"]);
    expect(failing([row({ maxAdmittedInWindow: 101 })])).toEqual(["every run: maxAdmittedInWindow <= limit"]);
    expect(failing([row({ exactAdmitted: 0, admittedVsExact: null })])).toEqual(["sparse 0.9L 100/1m: admittedVsExact >= 0.99"]);
  });
});
