/**
 * The demand estimate of one lease pool: permits used per ms since the previous exchange, sampled when the
 * next exchange starts. It decides how many permits to ask for ahead of need. Pure.
 *
 * A sparse pool (a request now and then) samples near zero and asks for exactly what its waiting requests
 * need, so it holds nothing unused; a busy one asks for 1.5× what it used over a lease's life. The object caps
 * the part ahead of need (lease-ledger.ts, `leaseSize`), so a wrong estimate costs at most that cap.
 */
export interface Demand {
  /** Permits per ms at the last sample; null before any. */
  perMs: number | null;
  /** Permits used since the last sample. */
  used: number;
  sinceMs: number | null;
}

export function newDemand(): Demand {
  return { perMs: null, used: 0, sinceMs: null };
}

export function noteUse(demand: Demand, units: number): void {
  demand.used += units;
}

/** Samples the rate at the start of an exchange: over at least a quarter of a lease's life (a burst is not a rate). */
export function sampleDemand(demand: Demand, nowMs: number, ttlMs: number): void {
  if (demand.sinceMs !== null) demand.perMs = demand.used / Math.max(ttlMs / 4, nowMs - demand.sinceMs);
  demand.used = 0;
  demand.sinceMs = nowMs;
}

/** Permits to ask for beyond the waiting requests' need: 1.5× the expected use over a lease's life, whole permits only. */
export function aheadOfNeed(demand: Demand, ttlMs: number, max: number): number {
  return Math.min(max, Math.floor((demand.perMs ?? 0) * ttlMs * 1.5));
}
