/**
 * A lease in an isolate's hands, and what using it means. Pure: times are parameters.
 *
 * A lease is `permits` permits usable until `usableUntilMs` on the isolate's clock: the life the object
 * granted, counted from the moment the isolate sent its request, less a margin (docs/rate-limiting.md,
 * "Exactness argument", step 1). `keyId`: the key whose own policies count these permits (only that key may
 * use them); null for the tenant's alone, usable by every principal of the tenant without policies of its own.
 */
import type { LeaseSettings } from "../config/rate-limit";
import type { LeaseReport } from "./lease-ledger";
import type { PolicyState } from "./sliding-window";

export interface HeldLease {
  id: string;
  keyId: string | null;
  permits: number;
  left: number;
  sentAtMs: number;
  usableUntilMs: number;
  /** The last use, in ms after `sentAtMs`: what the report says, so the object can move the used permits back to it. */
  lastUseOffsetMs: number;
  /** The policies' states as the object stated them with the grant. */
  states: PolicyState[];
  /**
   * Shadow remaining: each shadow policy's remaining before the grant. The permits past it are those that
   * policy would have refused, so a use of them is logged as a shadow violation.
   */
  shadowRemaining: Array<{ name: string; remaining: number }>;
  /** Clock skew: the object's clock minus ours, measured when the answer came, to state times in its frame. */
  skewMs: number;
}

/** Whether the lease can admit a request of `cost` now. */
export function canTake(lease: HeldLease, nowMs: number, cost: number): boolean {
  return lease.left >= cost && nowMs < lease.usableUntilMs;
}

/** Takes `cost` permits now; returns the shadow policies that would have refused them. */
export function takePermits(lease: HeldLease, nowMs: number, cost: number): string[] {
  const first = lease.permits - lease.left;
  lease.left -= cost;
  lease.lastUseOffsetMs = nowMs - lease.sentAtMs;
  return lease.shadowRemaining.filter((s) => first + cost > s.remaining).map((s) => s.name);
}

/** What the isolate tells the object of a lease it will use no more. */
export function reportOf(lease: HeldLease): LeaseReport {
  return { id: lease.id, used: lease.permits - lease.left, lastUseOffsetMs: lease.lastUseOffsetMs };
}

/**
 * The policies' states to show with an admission: remaining as the object last stated it plus the permits
 * still in hand, never more than the object granted minus what this isolate admitted since.
 */
export function statesWithInHand(newest: HeldLease, inHand: number): PolicyState[] {
  return newest.states.map((s) => ({ ...s, remaining: Math.min(s.policy.limit, s.remaining + inHand) }));
}

/**
 * The life to ask for a just-in-time grant (permits for the waiting requests only, used as it arrives):
 * twice the round trip measured, plus twice the margin, never more than a lease's full life. An answer
 * later than that is not used (the permits go back with the next exchange): it only under-admits.
 */
export function justInTimeLife(rttMs: number, settings: LeaseSettings): number {
  return Math.min(settings.ttlMs, Math.ceil(2 * rttMs + 2 * settings.marginMs));
}
