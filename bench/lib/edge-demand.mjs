/**
 * The edge section's sparse demand, as data: seeded arrival schedules (Poisson arrivals, each request from a
 * random isolate and integration key of one tenant; a hog key's burst) and the exact sliding-log oracle those
 * arrivals are judged against. Pure functions: no clock, no I/O, the same seed gives the same schedule.
 */

// The property tests' seeded generator (mulberry32): reproducible schedules, no dependency.
import { rng as seededRandom } from "../../test/support/rng.ts";

/** Arrival times (ms, ascending) of a Poisson process of `perMs` arrivals per ms on [fromMs, toMs). */
function poissonTimes(random, perMs, fromMs, toMs) {
  const out = [];
  // Exponential gaps; 1 - random() is in (0, 1], so the log is finite.
  for (let t = fromMs - Math.log(1 - random()) / perMs; t < toMs; t -= Math.log(1 - random()) / perMs) out.push(t);
  return out;
}

/**
 * Requests { atMs, isolate, key } sorted by time: Poisson arrivals at `load` × L per W over [0, spanMs),
 * each from a uniformly random isolate (0..isolates-1) and key (from `keys`, the indexes allowed).
 */
function poissonRequests(random, { limit, windowMs, load, spanMs, isolates, keys, fromMs = 0 }) {
  return poissonTimes(random, (load * limit) / windowMs, fromMs, spanMs).map((atMs) => ({
    atMs,
    isolate: Math.floor(random() * isolates),
    key: keys[Math.floor(random() * keys.length)],
  }));
}

const range = (n) => Array.from({ length: n }, (_, i) => i);

/**
 * The sparse schedule: `keyCount` keys of one tenant, Poisson arrivals at `load` (0.5, 0.9) × L per W for
 * `spanMs`, each request from a random (isolate, key). Returns the requests sorted by `atMs`.
 */
export function sparseSchedule({ seed, limit, windowMs, load, spanMs, isolates, keyCount }) {
  return poissonRequests(seededRandom(seed), { limit, windowMs, load, spanMs, isolates, keys: range(keyCount) });
}

/**
 * The hog schedule: key 0 sends 2 L requests in a burst (Poisson at 20 L per W, so about W/10 long, from
 * `burstAtMs`) and then nothing; the other keys go on at `load` × L per W for the whole span, each request
 * from a random isolate. Returns the requests sorted by `atMs`; the hog's are exactly 2 L.
 */
export function hogSchedule({ seed, limit, windowMs, load, spanMs, isolates, keyCount, burstAtMs }) {
  const random = seededRandom(seed);
  const others = poissonRequests(random, { limit, windowMs, load, spanMs, isolates, keys: range(keyCount).slice(1) });
  const burst = [];
  for (let t = burstAtMs; burst.length < 2 * limit; t -= (Math.log(1 - random()) * windowMs) / (20 * limit)) {
    burst.push({ atMs: t, isolate: Math.floor(random() * isolates), key: 0 });
  }
  return [...others, ...burst].sort((a, b) => a.atMs - b.atMs);
}

/**
 * What an exact sliding log admits for arrivals at the sorted times `t` (cost 1 each): a request at time x
 * is admitted when fewer than `limit` admissions lie in the closed interval [x - windowMs, x]. That is the
 * most a limiter can admit while no closed interval of length W holds more than L admissions (the property
 * maxAdmittedInWindow judges): greedy admission is optimal here, since by induction its k-th admission
 * comes no later than the k-th of any admission log that keeps the property. Returns a flag per arrival
 * (1: admitted), aligned with `t`.
 */
export function exactAdmissions(t, limit, windowMs) {
  const flags = new Uint8Array(t.length);
  const admitted = [];
  let oldest = 0; // index of the oldest admission still inside the window
  for (const [i, x] of t.entries()) {
    while (oldest < admitted.length && admitted[oldest] < x - windowMs) oldest++;
    if (admitted.length - oldest < limit) {
      admitted.push(x);
      flags[i] = 1;
    }
  }
  return flags;
}
