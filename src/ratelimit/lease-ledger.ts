/**
 * The authority's side of permit leases, pure (clock and storage are parameters): a tenant's Durable Object
 * grants an isolate a number of permits usable for `ttlMs` of the isolate's own clock, counted from the
 * moment the isolate sent its request. README, "Edge admission", has the exactness argument; in short:
 *
 * - The grant happens at time g on the object's clock, after the isolate sent at s, so the isolate's last
 *   possible use, before s + ttl on its clock, is before g + ttl on the object's (clocks may be offset by
 *   any amount; only their rates are assumed equal over one lease's life).
 * - The permits are therefore recorded in the bucket of g + ttl, the latest moment they can be used, and
 *   `evaluate` counts them against every decision until W after that bucket. Any interval of length W that
 *   holds a use of one of them lies within [g - W, g + ttl + W]: every later grant sees them (it counts
 *   every bucket from k-B on), and so no interval ever holds more than L uses, summed over every isolate.
 * - A report from the isolate can only move facts closer to the truth: unused permits were never used and
 *   are released; used ones move to the bucket of g + (last use - s), still a bound on their last use. A
 *   report for a lease the ledger no longer knows (forgotten, or sent twice) changes nothing.
 */
import type { Policy } from "./policy";
import { addToBucket, bucketOf, decide, oldestLiveBucket, type BucketCounts, type Decision, type TouchedBucket } from "./sliding-window";

/** A lease as the authority remembers it, until its report arrives or it is too old to matter. */
export interface LeaseRecord {
  id: string;
  grantMs: number;
  ttlMs: number;
  permits: number;
  /** The bucket each window's permits were recorded in. */
  recorded: Array<{ windowSec: number; bucket: number }>;
}

/** What an isolate says of a lease it will use no more. */
export interface LeaseReport {
  id: string;
  /** Permits it admitted requests with. */
  used: number;
  /** Its last use, in ms after it sent the lease request, on its own clock. */
  lastUseOffsetMs: number;
}

/** The ledger's state: bucket counts per window size, the leases whose report may still come, the isolates drawing on it. */
export interface Ledger {
  windows: Map<number, BucketCounts>;
  leases: Map<string, LeaseRecord>;
  /** Holder id -> when it last asked, oldest first. */
  holders: Map<string, number>;
  nextLease: number;
}

/** A holder not heard from for this long no longer takes a share of the headroom. */
export const HOLDER_IDLE_MS = 5_000;

/** How long after a lease's end its report is still applied; older records are dropped (their permits stay counted). */
export const REPORT_GRACE_MS = 60_000;

export function newLedger(): Ledger {
  return { windows: new Map(), leases: new Map(), holders: new Map(), nextLease: 0 };
}

/** The bucket map of one window size, created on first use. */
export function countsOf(ledger: Ledger, windowSec: number): BucketCounts {
  let counts = ledger.windows.get(windowSec);
  if (counts === undefined) ledger.windows.set(windowSec, (counts = new Map()));
  return counts;
}

/**
 * Applies an isolate's report on a lease: releases the unused permits and moves the used ones to the bucket
 * of their last use. Unknown leases are ignored, so a report sent twice is harmless.
 */
export function applyReport(ledger: Ledger, report: LeaseReport, nowMs: number): TouchedBucket[] {
  const lease = ledger.leases.get(report.id);
  if (lease === undefined) return [];
  ledger.leases.delete(report.id);
  const used = Math.min(lease.permits, Math.max(0, Math.floor(report.used)));
  const offset = Math.min(lease.ttlMs, Math.max(0, report.lastUseOffsetMs));
  const touched: TouchedBucket[] = [];
  for (const { windowSec, bucket } of lease.recorded) {
    const counts = countsOf(ledger, windowSec);
    const oldest = oldestLiveBucket(windowSec, nowMs);
    if (bucket < oldest) continue; // nothing of this lease is counted in this window any more
    touched.push(addToBucket(counts, windowSec, bucket, -lease.permits));
    const usedBucket = bucketOf(windowSec, lease.grantMs + offset);
    if (used > 0 && usedBucket >= oldest) touched.push(addToBucket(counts, windowSec, usedBucket, used));
  }
  return touched;
}

/**
 * Grants up to `want` permits for `ttlMs`, sized by `share` of the smallest headroom across policies (so a
 * tenant near its limit gets one permit at a time: today's per-request decision), or refuses with the
 * policy that decided. The permits are recorded at the end of the lease's life.
 */
export function grantLease(
  ledger: Ledger,
  policies: readonly Policy[],
  req: { id: string; want: number; ttlMs: number; share: number },
  nowMs: number,
): Decision & { granted: number; touched: TouchedBucket[] } {
  const want = Math.max(1, Math.floor(req.want));
  const decision = decide(policies, (w) => countsOf(ledger, w), nowMs, {
    size: (headroom) => Math.min(want, Math.floor(headroom * req.share)),
    recordAtMs: nowMs + req.ttlMs,
  });
  if (decision.allowed) {
    const recorded = decision.touched.map(({ windowSec, bucket }) => ({ windowSec, bucket }));
    ledger.leases.set(req.id, { id: req.id, grantMs: nowMs, ttlMs: req.ttlMs, permits: decision.granted, recorded });
  }
  return decision;
}

/** Forgets lease records whose report can no longer arrive in time to matter (oldest first: the map keeps grant order). */
export function forgetOldLeases(ledger: Ledger, nowMs: number): void {
  for (const [id, lease] of ledger.leases) {
    if (lease.grantMs + lease.ttlMs + REPORT_GRACE_MS > nowMs) break;
    ledger.leases.delete(id);
  }
}

/** How many isolates share the headroom: those that asked within the last few seconds, this one included. */
function activeHolders(ledger: Ledger, holderId: string, nowMs: number): number {
  ledger.holders.delete(holderId);
  ledger.holders.set(holderId, nowMs);
  for (const [id, seen] of ledger.holders) {
    if (seen > nowMs - HOLDER_IDLE_MS) break;
    ledger.holders.delete(id);
  }
  return ledger.holders.size;
}

/**
 * One lease exchange, decided: applies the isolate's reports, then grants a lease or refuses. The grant is
 * sized to the isolate's demand but to at most half the headroom divided among the isolates drawing on it,
 * so leases shrink to one permit as the tenant nears its limit.
 */
export function settleExchange(
  ledger: Ledger,
  policies: readonly Policy[],
  req: { holderId: string; want: number; ttlMs: number; reports: readonly LeaseReport[] },
  nowMs: number,
): Decision & { lease: { id: string; permits: number; ttlMs: number } | null; touched: TouchedBucket[] } {
  const touched: TouchedBucket[] = [];
  for (const report of req.reports) touched.push(...applyReport(ledger, report, nowMs));
  const share = 1 / (2 * activeHolders(ledger, req.holderId, nowMs));
  const id = `${nowMs.toString(36)}.${(ledger.nextLease++).toString(36)}`;
  const decision = grantLease(ledger, policies, { id, want: req.want, ttlMs: req.ttlMs, share }, nowMs);
  touched.push(...decision.touched);
  return { ...decision, lease: decision.allowed ? { id, permits: decision.granted, ttlMs: req.ttlMs } : null, touched };
}
