/**
 * How far ahead of the isolate's clock the tenant's object's clock can be, at most, learned from the exchanges
 * themselves (no clock agreement is assumed between machines). An answer stamped `objectNowMs` by the object
 * to a request the isolate sent at `sentAtMs` proves: object clock − isolate clock ≤ objectNowMs − sentAtMs
 * (the object decided after the send). The outbound delay makes each proof loose by that delay; the tightest
 * proof so far is loose only by the shortest outbound delay seen, so a holder that has exchanged a few times
 * knows the offset's upper bound to within a few ms, where one exchange alone knows it to within its whole
 * outbound delay. The holder uses it to place each use of a permit earlier, still at or after the use
 * (held-lease.ts, `creditMs`; docs/rate-limiting.md, "Exactness argument", step 3).
 *
 * A proof ages: the two clocks may drift apart by up to MAX_DRIFT (a quartz clock off by 100 ppm drifts 6 ms a
 * minute; NTP-disciplined ones far less), so a bound measured at `atMs` is widened by MAX_DRIFT per ms since,
 * and one older than MAX_AGE_MS is dropped (a clock stepped by NTP meanwhile cannot mislead it for long). Pure.
 */
export interface ClockBound {
  /** The tightest upper bound of (object clock − isolate clock) as of `atMs`; null: no exchange yet. */
  ms: number | null;
  /** The isolate's clock when that bound was measured (the request's send time). */
  atMs: number;
}

/** The relative drift rate allowed between the two clocks: 100 ppm. */
const MAX_DRIFT = 1e-4;
/** A bound older than this is forgotten. */
const MAX_AGE_MS = 10 * 60_000;

export function newClockBound(): ClockBound {
  return { ms: null, atMs: 0 };
}

/** The upper bound of (object clock − isolate clock) at isolate time `atMs`; null if none is known. */
export function offsetBound(b: ClockBound, atMs: number): number | null {
  if (b.ms === null || atMs - b.atMs > MAX_AGE_MS || atMs < b.atMs) return null;
  return b.ms + MAX_DRIFT * (atMs - b.atMs);
}

/** Learns from one answer: the request sent at `sentAtMs` (isolate clock) was answered at `objectNowMs` (object clock). */
export function noteAnswer(b: ClockBound, sentAtMs: number, objectNowMs: number): void {
  const fresh = objectNowMs - sentAtMs;
  // Answers may come back out of order: compare both bounds at the later of their two times.
  const atMs = Math.max(sentAtMs, b.atMs);
  const kept = offsetBound(b, atMs);
  const widened = fresh + MAX_DRIFT * (atMs - sentAtMs);
  b.ms = kept === null ? widened : Math.min(kept, widened);
  b.atMs = atMs;
}

/**
 * How much earlier than g + (u − s) a use at u can be placed, for a lease sent at `sentAtMs` and granted at
 * `grantMs` (object clock), usable until `untilMs`: the use happened at or before u + bound(u) on the object's
 * clock, which is g + (u − s) − ((g − s) − bound(u)); the bound grows with u, so it is taken at the lease's
 * end, the latest use. Never negative: without a tighter proof the placement is g + (u − s) as before.
 */
export function creditFor(b: ClockBound, sentAtMs: number, grantMs: number, untilMs: number): number {
  const bound = offsetBound(b, untilMs);
  return bound === null ? 0 : Math.max(0, Math.floor(grantMs - sentAtMs - bound));
}
