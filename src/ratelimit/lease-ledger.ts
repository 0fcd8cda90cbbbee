/**
 * The authority's side of permit leases, pure (clock and storage are parameters): a tenant's Durable Object
 * grants an isolate a number of permits usable for `ttlMs` of the isolate's own clock, counted from the
 * moment the isolate sent its request. docs/rate-limiting.md, "Edge admission", has the exactness argument; in short:
 *
 * - The grant happens at time g on the object's clock, after the isolate sent at s, so the isolate's last
 *   possible use, before s + ttl on its clock, is before g + ttl on the object's (clocks may be offset by
 *   any amount; only their rates are assumed equal over one lease's life).
 * - The permits are therefore recorded in the bucket of g + ttl, the latest moment they can be used, and
 *   `evaluate` counts them against every decision until W after that bucket. Any interval of length W that
 *   holds a use of one of them lies within [g - W, g + ttl + W]: every later grant sees them (it counts
 *   every bucket from k-B on), and so no interval ever holds more than L uses, summed over every isolate.
 * - A report from the isolate can only move facts closer to the truth: unused permits were never used and
 *   are released; each used one moves to the bucket of g + its offset: (its use - s), less the credit the
 *   isolate proved from earlier answers (clock-bound.ts), still a bound on that use. A report for a lease
 *   the ledger no longer knows (forgotten, or sent twice) changes nothing.
 *
 * Policies of several scopes (the tenant's, a key's) are leased together: a permit is granted only where
 * every enforced policy has room, and is recorded in the counter of every policy, shadow ones included.
 */
import type { Policy } from "../shared/policy";
import { addToBucket, bucketOf, decide, evaluate, oldestLiveBucket, type Counter, type Decision, type PolicyState, type Returning, type TouchedBucket } from "./sliding-window";

/** A lease as the authority remembers it, until its report arrives or it is too old to matter. */
export interface LeaseRecord {
  id: string;
  grantMs: number;
  ttlMs: number;
  permits: number;
  /** Permits granted past the waiting requests' need: the ones that may come back unused at the lease's end. */
  ahead: number;
  /** The isolate it was granted to. */
  holderId: string;
  /** The bucket each counter's permits were recorded in. */
  recorded: Array<{ store: string; bucket: number }>;
}

/** What an isolate says of a lease it will use no more. */
export interface LeaseReport {
  id: string;
  /** Permits it admitted requests with. */
  used: number;
  /** Its last use's offset (as in `uses`). */
  lastUseOffsetMs: number;
  /**
   * Each use, in ms after the send on the isolate's clock less the lease's credit (held-lease.ts): g + the
   * offset is at or after the use on the object's clock. Rounded up, neighbours merged at the later offset,
   * with the permits used then; absent: all `used` at `lastUseOffsetMs`.
   */
  uses?: UseMark[];
}

/** `count` permits used at or before g + `offsetMs` on the object's clock (g: the grant). */
export interface UseMark {
  offsetMs: number;
  count: number;
}

/** The ledger's state: counters by store key, the leases whose report may still come, the isolates drawing on it. */
export interface Ledger {
  counters: Map<string, Counter>;
  leases: Map<string, LeaseRecord>;
  /** Isolate (holder) id -> when it last asked for permits, oldest first. */
  holders: Map<string, number>;
  nextLease: number;
}

/** How long after a lease's end its report is still applied; older records are dropped (their permits stay counted). */
const REPORT_GRACE_MS = 60_000;
/** A report sent at a lease's end is expected this long after it (its trip); later than a second, it is taken as lost. */
const REPORT_TRIP_MS = 250;
const REPORT_LOST_AFTER_MS = 1_000;

/**
 * The permits of `counter` about to come back: those leased ahead of need to an isolate that has not asked
 * again since (a busy isolate renews before its lease ends, and uses what it holds; one that went quiet, like
 * a key that stopped bursting, gives them back at the lease's end). A refusal's retry time counts them, so it
 * is not a whole window when the budget is merely parked; if they were used after all, the retry is answered
 * with the then-true time (docs/rate-limiting.md, "Truthful headers").
 */
function returningPermits(ledger: Ledger, counter: Counter, nowMs: number): Returning[] {
  const out: Returning[] = [];
  for (const lease of ledger.leases.values()) {
    const endMs = lease.grantMs + lease.ttlMs;
    if (lease.ahead <= 0 || endMs + REPORT_LOST_AFTER_MS <= nowMs || ledger.holders.get(lease.holderId) !== lease.grantMs) continue;
    const at = lease.recorded.find((r) => r.store === counter.store);
    if (at !== undefined) out.push({ atMs: endMs + REPORT_TRIP_MS, units: lease.ahead, bucket: at.bucket });
  }
  return out;
}

export function newLedger(): Ledger {
  return { counters: new Map(), leases: new Map(), holders: new Map(), nextLease: 0 };
}

/** The counter key of a scope and window: `tenant#60`, `key:key_0123456789abcdef#3600`. */
function storeKey(scope: string, windowSec: number): string {
  return `${scope}#${windowSec}`;
}

/** The window of a counter key. */
function windowOfStore(store: string): number {
  return Number(store.slice(store.lastIndexOf("#") + 1));
}

/** The counter behind a store key, created on first use. */
export function counterOf(ledger: Ledger, store: string): Counter {
  let counter = ledger.counters.get(store);
  if (counter === undefined) ledger.counters.set(store, (counter = { store, windowSec: windowOfStore(store), counts: new Map() }));
  return counter;
}

/** The counter a policy draws on: its scope's (`keyId` for key policies) and its window's. */
export function policyCounter(ledger: Ledger, policy: Policy, keyId: string | null): Counter {
  const scope = policy.scope === "key" && keyId !== null ? `key:${keyId}` : "tenant";
  return counterOf(ledger, storeKey(scope, policy.windowSec));
}

/**
 * Applies an isolate's report on a lease: releases the unused permits and moves each used one to the bucket
 * of its own use (g + offset: an upper bound, since the isolate sent before g). Unknown leases are ignored, so
 * a report sent twice is harmless.
 */
function applyReport(ledger: Ledger, report: LeaseReport, nowMs: number): TouchedBucket[] {
  const lease = ledger.leases.get(report.id);
  if (lease === undefined) return [];
  ledger.leases.delete(report.id);
  const marks = usedMarks(report, lease);
  const touched: TouchedBucket[] = [];
  for (const { store, bucket } of lease.recorded) {
    const counter = counterOf(ledger, store);
    const oldest = oldestLiveBucket(counter.windowSec, nowMs);
    if (bucket < oldest) continue; // nothing of this lease is counted in this window any more
    touched.push(addToBucket(counter, bucket, -lease.permits));
    for (const { offsetMs, count } of marks) {
      const usedBucket = bucketOf(counter.windowSec, lease.grantMs + offsetMs);
      if (usedBucket >= oldest) touched.push(addToBucket(counter, usedBucket, count));
    }
  }
  return touched;
}

/**
 * The used permits of a report, each at an offset within the lease's life, never more than were granted:
 * marks past the granted count are dropped from the earliest (the later ones bound them), and a report
 * without marks puts every used permit at its last use.
 */
function usedMarks(report: LeaseReport, lease: LeaseRecord): UseMark[] {
  const clampOffset = (ms: number) => Math.min(lease.ttlMs, Math.max(0, Number.isFinite(ms) ? ms : lease.ttlMs));
  const used = Math.min(lease.permits, Math.max(0, Math.floor(report.used) || 0));
  const given = report.uses ?? [{ offsetMs: report.lastUseOffsetMs, count: used }];
  const marks: UseMark[] = [];
  let left = used;
  for (let i = given.length - 1; i >= 0 && left > 0; i--) {
    const m = given[i] as UseMark;
    const count = Math.min(left, Math.max(0, Math.floor(m.count) || 0));
    left -= count;
    if (count > 0) marks.push({ offsetMs: clampOffset(m.offsetMs), count });
  }
  // Used permits the marks do not place (a malformed report) count at the lease's end, where they were.
  if (left > 0) marks.push({ offsetMs: lease.ttlMs, count: left });
  return marks;
}

/**
 * How many isolates share the headroom: those that asked for permits within the last two lease lives, this
 * one included (a report alone does not count: that isolate is not drawing).
 */
function activeHolders(ledger: Ledger, holderId: string, nowMs: number, idleMs: number): number {
  ledger.holders.delete(holderId);
  ledger.holders.set(holderId, nowMs);
  for (const [id, seen] of ledger.holders) {
    if (seen > nowMs - idleMs || id === holderId) break;
    ledger.holders.delete(id);
  }
  return ledger.holders.size;
}

/**
 * The permits to grant, given the smallest enforced headroom: every unit the waiting requests need (what an
 * exact log would admit right now), then a share of what the isolate expects to use over the lease's life,
 * at most the policies' own rate over that life divided among the isolates drawing, and at most half the
 * headroom left divided among them too. So no isolate ever holds more unused permits than its share of
 * L/W × T (docs/rate-limiting.md, "Under-admission bound"). Pure.
 */
export function leaseSize(headroom: number, ask: { want: number; need: number }, ratePerLease: number, active: number): number {
  const need = Math.min(ask.need, headroom);
  const ahead = Math.min(ask.want - ask.need, Math.floor(ratePerLease / active), Math.floor((headroom - need) / (2 * active)));
  return need + Math.max(0, ahead);
}

/** The fewest permits the enforced policies allow per lease life: min over them of L/W × T. */
function ratePerLease(policies: readonly Policy[], ttlMs: number): number {
  const rates = policies.filter((p) => p.mode !== "shadow").map((p) => (p.limit * ttlMs) / (p.windowSec * 1000));
  return Math.min(Infinity, ...rates);
}

export interface ExchangeDecision extends Decision {
  lease: { id: string; permits: number; ttlMs: number; keyId: string | null } | null;
  touched: TouchedBucket[];
  /** Each shadow policy's state before the grant: permits past its remaining are those it would have refused. */
  shadow: PolicyState[];
}

/**
 * One lease exchange, decided: applies the isolate's reports, then (unless it is a report only, `want` 0)
 * grants a lease sized by `leaseSize` or refuses. `keyId`: the key asking; when it has policies of its own
 * (scope `key` among `policies`) the lease counts in them too and is that key's alone.
 */
export function settleExchange(
  ledger: Ledger,
  policies: readonly Policy[],
  req: { holderId: string; keyId?: string | null; want: number; need?: number; min?: number; ttlMs: number; reports: readonly LeaseReport[] },
  nowMs: number,
): ExchangeDecision {
  const touched: TouchedBucket[] = [];
  for (const report of req.reports) touched.push(...applyReport(ledger, report, nowMs));
  const keyId = req.keyId ?? null;
  const counter = (p: Policy) => policyCounter(ledger, p, keyId);
  if (req.want <= 0) {
    const states = policies.map((p) => evaluate(p, counter(p).counts, nowMs));
    return { allowed: true, states, violated: null, lease: null, touched, shadow: [] };
  }
  const active = activeHolders(ledger, req.holderId, nowMs, 2 * req.ttlMs);
  const id = `${nowMs.toString(36)}.${(ledger.nextLease++).toString(36)}`;
  const want = Math.max(1, Math.floor(req.want));
  const ask = { want, need: Math.min(want, Math.max(0, Math.floor(req.need ?? want))) };
  const rate = ratePerLease(policies, req.ttlMs);
  const decision = decide(policies, counter, nowMs, {
    size: (headroom) => leaseSize(headroom, ask, rate, active),
    min: req.min ?? 1,
    recordAtMs: nowMs + req.ttlMs,
    returning: (c) => returningPermits(ledger, c, nowMs),
  });
  touched.push(...decision.touched);
  if (!decision.allowed) return { ...decision, lease: null, touched };
  const recorded = decision.touched.map(({ store, bucket }) => ({ store, bucket }));
  const ahead = decision.granted - Math.min(ask.need, decision.granted);
  ledger.leases.set(id, { id, grantMs: nowMs, ttlMs: req.ttlMs, permits: decision.granted, ahead, holderId: req.holderId, recorded });
  const scope = keyId !== null && policies.some((p) => p.scope === "key") ? keyId : null;
  return { ...decision, lease: { id, permits: decision.granted, ttlMs: req.ttlMs, keyId: scope }, touched };
}

/** Forgets lease records whose report can no longer arrive in time to matter (oldest first: the map keeps grant order). */
export function forgetOldLeases(ledger: Ledger, nowMs: number): void {
  for (const [id, lease] of ledger.leases) {
    if (lease.grantMs + lease.ttlMs + REPORT_GRACE_MS > nowMs) break;
    ledger.leases.delete(id);
  }
}
