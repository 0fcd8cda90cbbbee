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
  if (demand.sinceMs !== null) demand.perMs = currentRate(demand, nowMs, ttlMs);
  demand.used = 0;
  demand.sinceMs = nowMs;
}

/**
 * Permits to ask for beyond the waiting requests' need: 1.5× the expected use over a lease's life, whole
 * permits only, and none while fewer than 2 uses are expected. Below that a permit leased ahead is as likely
 * to end unused as not, and giving it back costs a call: a request every second or so is served just in
 * time, one call each.
 */
export function aheadOfNeed(demand: Demand, ttlMs: number, max: number): number {
  return aheadFor(demand.perMs ?? 0, ttlMs, max);
}

/** The same rule for a rate measured now (the renewal's check, between samples). */
export function aheadFor(perMs: number, ttlMs: number, max: number): number {
  const expected = perMs * ttlMs;
  return expected < MIN_EXPECTED_AHEAD ? 0 : Math.min(max, Math.floor(expected * 1.5));
}

/** Uses expected per lease life below which nothing is leased ahead. */
const MIN_EXPECTED_AHEAD = 2;

/** The rate since the last sample, as `sampleDemand` would measure it now. */
export function currentRate(demand: Demand, nowMs: number, ttlMs: number): number {
  return demand.sinceMs === null ? 0 : demand.used / Math.max(ttlMs / 4, nowMs - demand.sinceMs);
}
