/**
 * A lease in an isolate's hands, and what using it means. Pure: times are parameters.
 *
 * A lease is `permits` permits usable until `usableUntilMs` on the isolate's clock: the life the object
 * granted, counted from the moment the isolate sent its request, less a margin (docs/rate-limiting.md,
 * "Exactness argument", step 1). `keyId`: the key whose own policies count these permits (only that key may
 * use them); null for the tenant's alone, usable by every principal of the tenant without policies of its own.
 */
import type { LeaseSettings } from "../config/rate-limit";
import type { LeaseReport, UseMark } from "./lease-ledger";
import type { PolicyState } from "./sliding-window";

export interface HeldLease {
  id: string;
  keyId: string | null;
  permits: number;
  left: number;
  sentAtMs: number;
  usableUntilMs: number;
  /** The life the object granted (τ): it counts every permit at g + τ until a report says better. */
  lifeMs: number;
  /**
   * When the permits were used, in ms after `sentAtMs` less `creditMs`, quantized up and merged (see
   * `noteUseAt`): what the report says, so the object can count each used permit at g + that offset, its own
   * use (or later), instead of at the lease's end.
   */
  uses: UseMark[];
  /** The policies' states as the object stated them with the grant. */
  states: PolicyState[];
  /**
   * Shadow remaining: each shadow policy's remaining before the grant. The permits past it are those that
   * policy would have refused, so a use of them is logged as a shadow violation.
   */
  shadowRemaining: Array<{ name: string; remaining: number }>;
  /** Clock skew: the object's clock minus ours, measured when the answer came, to state times in its frame. */
  skewMs: number;
  /**
   * How much earlier than `sentAtMs` + offset each use may be placed: (g − s) less the tightest known bound of
   * the clocks' offset (clock-bound.ts), so the object counts each use nearer its real moment. 0: none known.
   */
  creditMs: number;
}

/** Whether the lease can admit a request of `cost` now. */
export function canTake(lease: HeldLease, nowMs: number, cost: number): boolean {
  return lease.left >= cost && nowMs < lease.usableUntilMs;
}

/** The permits still usable now across `leases`. */
export function permitsInHand(leases: readonly HeldLease[], nowMs: number): number {
  return leases.reduce((n, l) => n + (nowMs < l.usableUntilMs ? l.left : 0), 0);
}

/** Takes `cost` permits now; returns the shadow policies that would have refused them. */
export function takePermits(lease: HeldLease, nowMs: number, cost: number): string[] {
  const first = lease.permits - lease.left;
  lease.left -= cost;
  noteUseAt(lease.uses, nowMs - lease.sentAtMs - lease.creditMs, cost);
  return lease.shadowRemaining.filter((s) => first + cost > s.remaining).map((s) => s.name);
}

/** Use offsets are rounded up to this: a few ms, well under 1% of the shortest window (1 s). */
const USE_RESOLUTION_MS = 5;
/** Marks kept per lease at most; past it two neighbours merge (see `noteUseAt`). */
const MAX_USE_MARKS = 16;

/**
 * Records `count` permits used `offsetMs` after the send. Offsets are rounded UP and, past MAX_USE_MARKS
 * marks, the two neighbours whose merge moves the fewest permit-ms merge at the LATER offset: every mark
 * stays at or after the uses it stands for, an upper bound, which is all the exactness argument needs.
 */
export function noteUseAt(marks: UseMark[], offsetMs: number, count: number): void {
  const at = Math.ceil(Math.max(0, offsetMs) / USE_RESOLUTION_MS) * USE_RESOLUTION_MS;
  const last = marks[marks.length - 1];
  if (last !== undefined && last.offsetMs >= at) last.count += count; // uses come in time order: a later mark already bounds this one
  else marks.push({ offsetMs: at, count });
  if (marks.length <= MAX_USE_MARKS) return;
  let best = 0;
  let bestCost = Infinity;
  for (let i = 0; i + 1 < marks.length; i++) {
    const a = marks[i] as UseMark;
    const cost = a.count * ((marks[i + 1] as UseMark).offsetMs - a.offsetMs);
    if (cost < bestCost) [best, bestCost] = [i, cost];
  }
  const [a, b] = marks.splice(best, 2) as [UseMark, UseMark];
  marks.splice(best, 0, { offsetMs: b.offsetMs, count: a.count + b.count });
}

/** Windows from this one on never get a correction report: a sparse tenant keeps one call per request. */
const CORRECTION_BELOW_WINDOW_MS = 60_000;

/** Whether the lease counts in a window short enough that a correction report at its end may be worth a call. */
export function mayNeedCorrection(lease: HeldLease): boolean {
  return smallestWindowMs(lease) < CORRECTION_BELOW_WINDOW_MS;
}

/**
 * Whether a lease used up (or ended) is worth a report of its own at its end, even with nothing to give back:
 * its used permits are counted at g + τ until a report moves them to their uses, and that gap is more than 1% of
 * the smallest enforced window, below 60 s. From 60 s on the gap (at most T = 1 s) is never reported alone.
 */
export function correctionWorth(lease: HeldLease): boolean {
  const used = lease.permits - lease.left;
  const windowMs = smallestWindowMs(lease);
  const last = lease.uses[lease.uses.length - 1]?.offsetMs ?? lease.lifeMs;
  return used > 0 && windowMs < CORRECTION_BELOW_WINDOW_MS && lease.lifeMs - last > windowMs / 100;
}

function smallestWindowMs(lease: HeldLease): number {
  return Math.min(Infinity, ...lease.states.filter((s) => s.policy.mode !== "shadow").map((s) => s.policy.windowSec * 1000));
}

/** What the isolate tells the object of a lease it will use no more. */
export function reportOf(lease: HeldLease): LeaseReport {
  const last = lease.uses[lease.uses.length - 1]?.offsetMs ?? 0;
  return { id: lease.id, used: lease.permits - lease.left, lastUseOffsetMs: last, uses: lease.uses.map((m) => ({ ...m })) };
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
