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
 *   are released; used ones move to the bucket of g + (last use - s), still a bound on their last use. A
 *   report for a lease the ledger no longer knows (forgotten, or sent twice) changes nothing.
 *
 * Policies of several scopes (the tenant's, a key's) are leased together: a permit is granted only where
 * every enforced policy has room, and is recorded in the counter of every policy, shadow ones included.
 */
import type { Policy } from "../shared/policy";
import { addToBucket, bucketOf, decide, oldestLiveBucket, type Counter, type Decision, type PolicyState, type TouchedBucket } from "./sliding-window";

/** A lease as the authority remembers it, until its report arrives or it is too old to matter. */
export interface LeaseRecord {
  id: string;
  grantMs: number;
  ttlMs: number;
  permits: number;
  /** The bucket each counter's permits were recorded in. */
  recorded: Array<{ store: string; bucket: number }>;
}

/** What an isolate says of a lease it will use no more. */
export interface LeaseReport {
  id: string;
  /** Permits it admitted requests with. */
  used: number;
  /** Its last use, in ms after it sent the lease request, on its own clock. */
  lastUseOffsetMs: number;
}

/** The ledger's state: counters by store key, the leases whose report may still come, the isolates drawing on it. */
export interface Ledger {
  counters: Map<string, Counter>;
  leases: Map<string, LeaseRecord>;
  /** Holder id -> when it last asked, oldest first. */
  holders: Map<string, number>;
  nextLease: number;
}

/** A holder not heard from for this long no longer takes a share of the headroom. */
const HOLDER_IDLE_MS = 5_000;

/** How long after a lease's end its report is still applied; older records are dropped (their permits stay counted). */
const REPORT_GRACE_MS = 60_000;

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
 * Applies an isolate's report on a lease: releases the unused permits and moves the used ones to the bucket
 * of their last use. Unknown leases are ignored, so a report sent twice is harmless.
 */
function applyReport(ledger: Ledger, report: LeaseReport, nowMs: number): TouchedBucket[] {
  const lease = ledger.leases.get(report.id);
  if (lease === undefined) return [];
  ledger.leases.delete(report.id);
  const used = Math.min(lease.permits, Math.max(0, Math.floor(report.used)));
  const offset = Math.min(lease.ttlMs, Math.max(0, report.lastUseOffsetMs));
  const touched: TouchedBucket[] = [];
  for (const { store, bucket } of lease.recorded) {
    const counter = counterOf(ledger, store);
    const oldest = oldestLiveBucket(counter.windowSec, nowMs);
    if (bucket < oldest) continue; // nothing of this lease is counted in this window any more
    touched.push(addToBucket(counter, bucket, -lease.permits));
    const usedBucket = bucketOf(counter.windowSec, lease.grantMs + offset);
    if (used > 0 && usedBucket >= oldest) touched.push(addToBucket(counter, usedBucket, used));
  }
  return touched;
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

export interface ExchangeDecision extends Decision {
  lease: { id: string; permits: number; ttlMs: number } | null;
  touched: TouchedBucket[];
  /** Each shadow policy's state before the grant: permits past its remaining are those it would have refused. */
  shadow: PolicyState[];
}

/**
 * One lease exchange, decided: applies the isolate's reports, then grants a lease or refuses. The grant is
 * sized to the isolate's demand but to at most half the headroom divided among the isolates drawing on it,
 * so leases shrink to the asking request's cost as the tenant nears its limit. `keyId`: the key whose own
 * policies (scope `key`) apply besides the tenant's.
 */
export function settleExchange(
  ledger: Ledger,
  policies: readonly Policy[],
  req: { holderId: string; keyId?: string | null; want: number; min?: number; ttlMs: number; reports: readonly LeaseReport[] },
  nowMs: number,
): ExchangeDecision {
  const touched: TouchedBucket[] = [];
  for (const report of req.reports) touched.push(...applyReport(ledger, report, nowMs));
  const share = 1 / (2 * activeHolders(ledger, `${req.holderId}/${req.keyId ?? ""}`, nowMs));
  const id = `${nowMs.toString(36)}.${(ledger.nextLease++).toString(36)}`;
  const want = Math.max(1, Math.floor(req.want));
  const decision = decide(policies, (p) => policyCounter(ledger, p, req.keyId ?? null), nowMs, {
    size: (headroom) => Math.min(want, Math.floor(headroom * share)),
    min: req.min ?? 1,
    recordAtMs: nowMs + req.ttlMs,
  });
  touched.push(...decision.touched);
  if (!decision.allowed) return { ...decision, lease: null, touched };
  const recorded = decision.touched.map(({ store, bucket }) => ({ store, bucket }));
  ledger.leases.set(id, { id, grantMs: nowMs, ttlMs: req.ttlMs, permits: decision.granted, recorded });
  return { ...decision, lease: { id, permits: decision.granted, ttlMs: req.ttlMs }, touched };
}

/** Forgets lease records whose report can no longer arrive in time to matter (oldest first: the map keeps grant order). */
export function forgetOldLeases(ledger: Ledger, nowMs: number): void {
  for (const [id, lease] of ledger.leases) {
    if (lease.grantMs + lease.ttlMs + REPORT_GRACE_MS > nowMs) break;
    ledger.leases.delete(id);
  }
}
