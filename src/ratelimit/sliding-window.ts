/**
 * The admission algorithm: a sub-bucketed sliding window that never over-admits. Pure: the clock is a
 * parameter, so the guarantee is tested with exact times.
 *
 * A window of W ms is cut into B = 600 buckets of exactly W/B ms (boundaries may fall between whole ms, so
 * every window size gets the same bucket geometry; a whole-ms width rounded down made some windows need 63
 * buckets and lose over 3%). 600, not 60: the counted span W + W/B is what an admission costs beyond an
 * exact log, and at 60 buckets that 1.7% alone cost about 1% of a tenant's admissions at 0.9 L offered
 * (test/unit/lease-entitlement.test.ts); 601 counters per window are still a few kB. A request at time t, in bucket k = floor(t*B/W), is admitted only if the
 * admissions counted in buckets k-B..k are fewer than L. Bucket k-B starts at or before t-W, so every
 * admission sees every earlier admission at most W before it: no closed interval of length W ever holds
 * more than L admissions (there is no window edge to exploit, unlike a weighted two-window estimate, which
 * can admit up to 2L in one rolling window). The price is under-admission: an admission stays counted for
 * up to W + W/B, so under saturating demand a tenant gets L per W + W/B, about 0.17% less than L per W.
 * Memory is B+1 counters per window size whatever L is.
 */
import type { Policy } from "../shared/policy";

export const BUCKETS_PER_WINDOW = 600;

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

/**
 * The bucket holding `nowMs` for a window: bucket k covers [k*W/B, (k+1)*W/B). Exact in doubles: the
 * products stay far below 2^53 for any real clock, and a correctly rounded quotient of integers is never
 * pushed across an integer.
 */
export function bucketOf(windowSec: number, nowMs: number): number {
  return Math.floor((nowMs * BUCKETS_PER_WINDOW) / (windowSec * 1000));
}

/** The first whole millisecond that falls in bucket `k`. */
export function bucketStartMs(windowSec: number, k: number): number {
  return Math.ceil((k * windowSec * 1000) / BUCKETS_PER_WINDOW);
}

/** Permits counted in `bucket` that are expected back at `atMs` (leased ahead of need, given back unused at a lease's end). */
export interface Returning {
  atMs: number;
  units: number;
  bucket: number;
}

/**
 * One policy's state at `nowMs`, without recording anything. Every bucket from k-B on is counted, later
 * ones included: a leased permit is recorded in the bucket of the latest moment it can be used, which may
 * still be ahead (lease-ledger.ts), and it must count against every decision until W after that moment.
 * `units`: what the decision needs (a route's cost); the retry time is when that many are free, counting
 * `returning` permits as free when they are expected back (not where their bucket leaves the span).
 */
export function evaluate(policy: Policy, counts: BucketCounts, nowMs: number, units = 1, returning: readonly Returning[] = []): PolicyState {
  const first = bucketOf(policy.windowSec, nowMs) - BUCKETS_PER_WINDOW;
  // One pass, no copy and no sort: an admission needs only the sum and the oldest counted bucket (this runs
  // twice per lease exchange, over up to B+1 buckets); a refusal's retry time below walks the buckets again.
  let used = 0;
  let oldest: number | null = null;
  for (const [i, n] of counts) {
    if (i >= first && n > 0) {
      used += n;
      if (oldest === null || i < oldest) oldest = i;
    }
  }
  // Bucket i stops being counted once the current bucket is i+B+1.
  const leaves = (i: number) => bucketStartMs(policy.windowSec, i + BUCKETS_PER_WINDOW + 1);
  const resetMs = oldest === null ? 0 : leaves(oldest);
  let retryAtMs: number | null = null;
  if (used > policy.limit - units) {
    // A cost above the limit can never be admitted: it is refused a whole window at a time.
    retryAtMs = nowMs + policy.windowSec * 1000;
    // What stays in each bucket until it leaves: its count less what comes back first (never below zero).
    const stays = new Map<number, number>();
    for (const [i, n] of counts) if (i >= first && n > 0) stays.set(i, n);
    const back = [...returning]
      .sort((a, b) => a.atMs - b.atMs)
      .map((r) => {
        const n = Math.min(r.units, stays.get(r.bucket) ?? 0);
        if (n > 0) stays.set(r.bucket, (stays.get(r.bucket) ?? 0) - n);
        return { atMs: Math.max(nowMs, r.atMs), units: n };
      });
    const frees = [...back, ...[...stays].map(([i, n]) => ({ atMs: leaves(i), units: n }))].sort((a, b) => a.atMs - b.atMs);
    let drop = used;
    for (const f of frees) {
      drop -= f.units;
      if (drop <= policy.limit - units) {
        retryAtMs = f.atMs;
        break;
      }
    }
  }
  return { policy, used, remaining: Math.max(0, policy.limit - used), resetMs, retryAtMs };
}

/** A bucket whose count changed, for write-through to storage. */
export interface TouchedBucket {
  /** The counter it belongs to (see `Counter`). */
  store: string;
  windowSec: number;
  bucket: number;
  count: number;
}

/** The bucket counts one policy draws on: policies of one scope and window share them. */
export interface Counter {
  store: string;
  windowSec: number;
  counts: BucketCounts;
}

export interface Grant {
  /** How many permits to record, given the smallest enforced headroom (at least `min`). */
  size?: (headroom: number) => number;
  /** The fewest permits worth granting: the cost of the request that asks (default 1). */
  min?: number;
  /** Where the permits are recorded: the latest moment they can be used (default: now). */
  recordAtMs?: number;
  /** The permits of a counter expected back before their buckets leave (see `evaluate`); none by default. */
  returning?: (counter: Counter) => readonly Returning[];
}

const enforced = (p: Policy) => p.mode !== "shadow";

/**
 * Decides a grant of permits against every policy and, if every enforced policy has room for `min`,
 * records them in every policy's counter, shadow ones included. A single request is a grant of its cost
 * used now; a lease is a grant of `size(headroom)` permits recorded at the end of the lease's life. A shadow
 * policy never refuses: `shadow` gives each one's state before the grant, so the permits past its remaining
 * are those it would have refused. Returns the decision, how many permits were granted, and which buckets
 * changed.
 */
export function decide(
  policies: readonly Policy[],
  store: (policy: Policy) => Counter,
  nowMs: number,
  grant: Grant = {},
): Decision & { granted: number; touched: TouchedBucket[]; shadow: PolicyState[] } {
  const min = Math.max(1, Math.floor(grant.min ?? 1));
  const first = policies.map((p) => evaluate(p, store(p).counts, nowMs, min));
  // Only a refusal has a retry time to state: the permits coming back are looked up for those alone.
  const returning = grant.returning;
  const probes = returning === undefined ? first : first.map((s) => (s.retryAtMs === null ? s : evaluate(s.policy, store(s.policy).counts, nowMs, min, returning(store(s.policy)))));
  const shadow = probes.filter((s) => !enforced(s.policy));
  const refused = probes.filter((s) => enforced(s.policy) && s.retryAtMs !== null);
  if (refused.length > 0) {
    // The latest retry time, so a client that waits that long finds every policy willing.
    const violated = refused.reduce((a, b) => ((b.retryAtMs ?? 0) > (a.retryAtMs ?? 0) ? b : a));
    return { allowed: false, states: probes, violated, granted: 0, touched: [], shadow };
  }
  const headroom = Math.min(Infinity, ...probes.filter((s) => enforced(s.policy)).map((s) => s.remaining));
  const granted = Math.max(min, Math.min(headroom, Math.floor(grant.size?.(headroom) ?? min)));
  const at = grant.recordAtMs ?? nowMs;
  const touched: TouchedBucket[] = [];
  const counters = new Map(policies.map((p) => [store(p).store, store(p)]));
  for (const c of counters.values()) touched.push(addToBucket(c, bucketOf(c.windowSec, at), granted));
  const states = probes.map((s) => afterGrant(s, store(s.policy).counts, nowMs, at, granted));
  return { allowed: true, states, violated: null, granted, touched, shadow };
}

/**
 * A policy's state once `granted` permits are recorded at `atMs` (at or after now: a counted bucket), from its
 * state before (`before`, over the same counts less those permits) instead of a second pass over the buckets:
 * used grows by the grant, and the grant's bucket may be the oldest counted. A policy the grant leaves with
 * no room is evaluated again, for its retry time. Equal to `evaluate` after the grant (sliding-window.test.ts).
 */
function afterGrant(before: PolicyState, counts: BucketCounts, nowMs: number, atMs: number, granted: number): PolicyState {
  const { policy } = before;
  const used = before.used + granted;
  if (used >= policy.limit) return evaluate(policy, counts, nowMs);
  const leaves = bucketStartMs(policy.windowSec, bucketOf(policy.windowSec, atMs) + BUCKETS_PER_WINDOW + 1);
  return { policy, used, remaining: policy.limit - used, resetMs: before.resetMs === 0 ? leaves : Math.min(before.resetMs, leaves), retryAtMs: null };
}

/** Adds `delta` (negative to release) to one bucket, never below zero; an emptied bucket is deleted. */
export function addToBucket(counter: Counter, bucket: number, delta: number): TouchedBucket {
  const count = Math.max(0, (counter.counts.get(bucket) ?? 0) + delta);
  if (count === 0) counter.counts.delete(bucket);
  else counter.counts.set(bucket, count);
  return { store: counter.store, windowSec: counter.windowSec, bucket, count };
}

/** The oldest bucket index still counted at `nowMs`; everything before it can be dropped. */
export function oldestLiveBucket(windowSec: number, nowMs: number): number {
  return bucketOf(windowSec, nowMs) - BUCKETS_PER_WINDOW;
}

/** Drops buckets no policy of this window can count any more; keeps memory at B+1 per window. */
export function prune(counts: BucketCounts, windowSec: number, nowMs: number): number[] {
  const oldest = oldestLiveBucket(windowSec, nowMs);
  const dropped: number[] = [];
  for (const i of counts.keys()) {
    if (i < oldest) {
      counts.delete(i);
      dropped.push(i);
    }
  }
  return dropped;
}
