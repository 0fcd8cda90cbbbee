/**
 * The admission algorithm: a sub-bucketed sliding window that never over-admits. Pure: the clock is a
 * parameter, so the guarantee is tested with exact times.
 *
 * A window W is cut into buckets of width g (about W/60). A request at time t, in bucket k = floor(t/g),
 * is admitted only if the admissions counted in buckets k-B..k (B = ceil(W/g)) are fewer than L. Those
 * buckets cover at least [t-W, t], so every admission sees every earlier admission less than W before it:
 * no interval of length W ever holds more than L admissions (there is no window edge to exploit, unlike a
 * weighted two-window estimate, which can admit up to 2L in one rolling window). The price is
 * under-admission: the counted span is up to W+g, so a tenant can get as little as L per W+g, under 2% less
 * with 60 buckets. Memory is B+1 counters per policy whatever L is.
 */
import type { Policy } from "./policy";

export const BUCKETS_PER_WINDOW = 60;

/** Counts per bucket index, for one window size. */
export type BucketCounts = Map<number, number>;

export interface PolicyState {
  policy: Policy;
  /** Admissions counted in the span after this decision. */
  used: number;
  remaining: number;
  /** When remaining next grows: when the oldest counted bucket leaves the span (0 when nothing is counted). */
  resetMs: number;
  /** For a refused request: the earliest time this policy would admit one more. */
  retryAtMs: number | null;
}

export interface Decision {
  allowed: boolean;
  states: PolicyState[];
  /** The policy that refused (the one whose retry time is latest), for the 429. */
  violated: PolicyState | null;
}

/** Bucket width in ms for a window: about W/60, at least 1 ms. */
export function bucketWidthMs(windowSec: number): number {
  return Math.max(1, Math.floor((windowSec * 1000) / BUCKETS_PER_WINDOW));
}

/** Key under which a window's buckets are kept; policies with the same window share counts. */
export function windowKey(windowSec: number): string {
  return `w${windowSec}`;
}

function spanOf(windowSec: number, nowMs: number): { g: number; k: number; b: number } {
  const g = bucketWidthMs(windowSec);
  return { g, k: Math.floor(nowMs / g), b: Math.ceil((windowSec * 1000) / g) };
}

/** One policy's state at `nowMs`, without recording anything. */
export function evaluate(policy: Policy, counts: BucketCounts, nowMs: number): PolicyState {
  const { g, k, b } = spanOf(policy.windowSec, nowMs);
  let used = 0;
  const live: Array<[number, number]> = [];
  for (let i = k - b; i <= k; i++) {
    const n = counts.get(i) ?? 0;
    if (n > 0) live.push([i, n]);
    used += n;
  }
  // Bucket i stops being counted once the current bucket is i+b+1, i.e. at time (i+b+1)*g.
  const oldest = live[0];
  const resetMs = oldest === undefined ? 0 : (oldest[0] + b + 1) * g;
  let retryAtMs: number | null = null;
  if (used >= policy.limit) {
    let drop = used;
    for (const [i, n] of live) {
      drop -= n;
      if (drop < policy.limit) {
        retryAtMs = (i + b + 1) * g;
        break;
      }
    }
  }
  return { policy, used, remaining: Math.max(0, policy.limit - used), resetMs, retryAtMs };
}

/**
 * Decides one request against every policy and, if all admit, records it. `store` returns the bucket map for
 * a window (shared by policies of the same window). Returns the decision and which buckets changed.
 */
export function decide(policies: readonly Policy[], store: (windowSec: number) => BucketCounts, nowMs: number): Decision & { touched: Array<{ windowSec: number; bucket: number; count: number }> } {
  const probes = policies.map((p) => evaluate(p, store(p.windowSec), nowMs));
  const refused = probes.filter((s) => s.retryAtMs !== null);
  if (refused.length > 0) {
    const violated = refused.reduce((a, b) => ((b.retryAtMs ?? 0) > (a.retryAtMs ?? 0) ? b : a));
    return { allowed: false, states: probes, violated, touched: [] };
  }
  const touched: Array<{ windowSec: number; bucket: number; count: number }> = [];
  for (const windowSec of new Set(policies.map((p) => p.windowSec))) {
    const counts = store(windowSec);
    const { k } = spanOf(windowSec, nowMs);
    const count = (counts.get(k) ?? 0) + 1;
    counts.set(k, count);
    touched.push({ windowSec, bucket: k, count });
  }
  const states = policies.map((p) => evaluate(p, store(p.windowSec), nowMs));
  return { allowed: true, states, violated: null, touched };
}

/** Drops buckets no policy of this window can count any more; keeps memory at B+1 per window. */
export function prune(counts: BucketCounts, windowSec: number, nowMs: number): number[] {
  const { k, b } = spanOf(windowSec, nowMs);
  const dropped: number[] = [];
  for (const i of counts.keys()) {
    if (i < k - b) {
      counts.delete(i);
      dropped.push(i);
    }
  }
  return dropped;
}
