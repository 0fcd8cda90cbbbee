/**
 * A simulated deployment for the lease property tests: isolates (the real LeaseHolder) on their own clock
 * offsets lease permits from one authority (the real ledger, on its own clock) over a network with random
 * one-way delays and, optionally, lost requests, lost answers and lost reports. Time is simulated: every
 * moment is an event in a heap; nothing waits for real time. Arrivals are given up front, so an exact
 * sliding log (`exactLog`) can be computed from the same arrival times.
 */
import type { LeaseSettings } from "../../src/config/rate-limit";
import { LeaseHolder, type Exchange, type Outcome } from "../../src/ratelimit/lease-holder";
import { newLedger, settleExchange, type Ledger } from "../../src/ratelimit/lease-ledger";
import type { LeaseAnswer } from "../../src/ratelimit/limiter-protocol";
import { newRoundTrip, type RoundTrip } from "../../src/ratelimit/round-trip";
import type { Policy } from "../../src/shared/policy";

/** One request as it reaches an isolate: when (ms from the start, real time), where, by whom, at what cost. */
export interface Arrival {
  t: number;
  /** The isolate it lands on; -1: a new isolate (a holder never used before). */
  isolate: number;
  key: string | null;
  cost: number;
}

/** An admission, at the real time the isolate admitted it. */
export interface Use {
  t: number;
  units: number;
  key: string | null;
}

export interface World {
  /** The tenant's policies; `raise` replaces them at a moment. */
  policies: Policy[];
  /** Policies every key has of its own (scope key). */
  keyPolicies?: Policy[];
  raise?: { atMs: number; policies: Policy[] };
  isolates: number;
  arrivals: Arrival[];
  maxDelayMs: number;
  lossRate: number;
  /** How often the reports riding on a request are lost (the request itself arrives). */
  reportLossRate: number;
  /** The adversary: each isolate also spends whatever its leases hold in one burst at the last moment they allow. */
  hoard: boolean;
  settings: LeaseSettings;
  /** A regression switch: one holder per (isolate, key) instead of one per isolate. */
  holderPerKey?: boolean;
  /** Every holder in an isolate of its own, with no round trip measured (a brand-new isolate per holder). */
  coldIsolates?: boolean;
  /** Each isolate's clock also runs fast or slow against the authority's, by up to this many parts per million. */
  maxDriftPpm?: number;
}

export interface SimResult {
  /** Uses, with `t` in ms from the start (arrival times are on the same scale). */
  uses: Use[];
  /** For each arrival (same order), whether it was admitted. */
  admitted: boolean[];
  /** Calls that reached the authority. */
  exchanges: number;
  refused: number;
  unavailable: number;
}

/** The most units any closed interval [s, s+W] holds (uses sorted by time). */
export function maxInAnyWindow(uses: readonly Use[], windowMs: number): number {
  let max = 0;
  let sum = 0;
  let lo = 0;
  for (let hi = 0; hi < uses.length; hi++) {
    sum += uses[hi]?.units ?? 0;
    while ((uses[lo]?.t ?? 0) < (uses[hi]?.t ?? 0) - windowMs) sum -= uses[lo++]?.units ?? 0;
    max = Math.max(max, sum);
  }
  return max;
}

/**
 * What an exact sliding log admits for the same arrivals: a request at t is admitted when, for every
 * enforced policy in force at t (a key's own only for that key), the units admitted in [t - W, t] plus its
 * cost are at most L. Returns its admissions, in time order.
 */
export function exactLog(world: Pick<World, "policies" | "keyPolicies" | "raise" | "arrivals">): Use[] {
  // One running window per (policy, key): the admitted units in [t - W, t], oldest first.
  const windows = new Map<string, { log: Use[]; lo: number; sum: number }>();
  const admitted: Use[] = [];
  const sorted = [...world.arrivals].sort((a, b) => a.t - b.t);
  for (const a of sorted) {
    const tenant = world.raise !== undefined && a.t >= world.raise.atMs ? world.raise.policies : world.policies;
    const checks = [
      ...tenant.map((p, i) => ({ p, name: `t${i}` })),
      ...(a.key === null ? [] : (world.keyPolicies ?? []).map((p, i) => ({ p, name: `k${i}/${a.key}` }))),
    ].filter(({ p }) => p.mode !== "shadow");
    const open = checks.map(({ p, name }) => {
      let w = windows.get(name);
      if (w === undefined) windows.set(name, (w = { log: [], lo: 0, sum: 0 }));
      while (w.lo < w.log.length && (w.log[w.lo]?.t ?? 0) < a.t - p.windowSec * 1000) w.sum -= w.log[w.lo++]?.units ?? 0;
      return { p, w };
    });
    if (open.every(({ p, w }) => w.sum + a.cost <= p.limit)) {
      for (const { w } of open) {
        w.log.push({ t: a.t, units: a.cost, key: a.key });
        w.sum += a.cost;
      }
      admitted.push({ t: a.t, units: a.cost, key: a.key });
    }
  }
  return admitted;
}

/** A binary heap of events by time, then insertion order. */
class Events {
  private heap: Array<{ at: number; seq: number; run: () => void }> = [];
  private seq = 0;
  get size(): number {
    return this.heap.length;
  }
  push(at: number, run: () => void): void {
    const h = this.heap;
    h.push({ at, seq: this.seq++, run });
    let i = h.length - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!this.less(i, parent)) break;
      this.swap(i, parent);
      i = parent;
    }
  }
  pop(): { at: number; run: () => void } | undefined {
    const h = this.heap;
    const top = h[0];
    const last = h.pop();
    if (h.length > 0 && last !== undefined) {
      h[0] = last;
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        const r = l + 1;
        let m = i;
        if (l < h.length && this.less(l, m)) m = l;
        if (r < h.length && this.less(r, m)) m = r;
        if (m === i) break;
        this.swap(i, m);
        i = m;
      }
    }
    return top;
  }
  private less(a: number, b: number): boolean {
    const x = this.heap[a];
    const y = this.heap[b];
    return x !== undefined && y !== undefined && (x.at < y.at || (x.at === y.at && x.seq < y.seq));
  }
  private swap(a: number, b: number): void {
    const x = this.heap[a];
    const y = this.heap[b];
    if (x === undefined || y === undefined) return;
    this.heap[a] = y;
    this.heap[b] = x;
  }
}

const flush = async () => {
  for (let i = 0; i < 12; i++) await Promise.resolve();
};

/** The leases a holder has in hand, as only an adversary with perfect timing could read them. */
interface Visible {
  id: string;
  keyId: string | null;
  left: number;
  usableUntilMs: number;
}

/** Runs one simulated deployment. */
export async function simulate(world: World, random: () => number): Promise<SimResult> {
  const ledger: Ledger = newLedger();
  const start = 1_800_000_000_000;
  let now = start; // real time
  const authorityOffset = Math.floor((random() - 0.5) * 3_600_000);
  const events = new Events();
  const uses: Use[] = [];
  const admitted = world.arrivals.map(() => false);
  const keyPolicies = (world.keyPolicies ?? []).map((p) => ({ ...p, scope: "key" as const }));
  const tenantPolicies = () => (world.raise !== undefined && now - start >= world.raise.atMs ? world.raise.policies : world.policies);
  const policiesFor = (keyId: string | null) => [...tenantPolicies().map((p) => ({ ...p, scope: "tenant" as const })), ...(keyId === null ? [] : keyPolicies)];
  const allKeys = [...new Set(world.arrivals.map((a) => a.key).filter((k) => k !== null))];
  let exchanges = 0;
  let refused = 0;
  let unavailable = 0;
  const sleep = (ms: number) => new Promise<void>((resolve) => events.push(now + Math.max(0, ms), resolve));

  interface Isolate {
    holder: LeaseHolder;
    exchange: Exchange;
    realAt: (isolateMs: number) => number;
    hoarded: Set<string>;
  }
  let made = 0;
  // Each isolate's round trip estimate, shared by its holders (admission.ts); a new holder per request (isolate
  // -1) lands in one of `world.isolates` warm isolates, new to this tenant but not to the network.
  const roundTrips = Array.from({ length: world.isolates }, () => newRoundTrip());
  const makeIsolate = (boundKey: string | null, rtt: RoundTrip): Isolate => {
    const i = made++;
    const offset = Math.floor((random() - 0.5) * 3_600_000); // clocks disagree by up to half an hour
    const drift = world.maxDriftPpm === undefined ? 0 : (2 * random() - 1) * world.maxDriftPpm * 1e-6;
    const holder = new LeaseHolder("t", () => now + offset + Math.round(drift * (now - start)), sleep, world.coldIsolates === true ? newRoundTrip() : rtt);
    // The real time at which this isolate's clock reads `ms` (give or take its rounding, under drift).
    const realAt = (ms: number) => Math.floor(start + (ms - offset - start) / (1 + drift));
    const exchange: Exchange = (req) =>
      new Promise<LeaseAnswer>((resolve, reject) => {
        exchanges++;
        const lost = () => reject(new Error("lost"));
        if (random() < world.lossRate) return events.push(now + world.settings.timeoutMs, lost); // the request never arrives
        events.push(now + Math.floor(random() * world.maxDelayMs), () => {
          const objectNow = now + authorityOffset;
          const reports = random() < world.reportLossRate ? [] : req.reports; // lost reports: the permits stay counted
          const keyId = "keyId" in req ? req.keyId : boundKey;
          const d = settleExchange(ledger, policiesFor(keyId), { ...req, keyId, reports, holderId: `h${i}` }, objectNow);
          // Every key has the world's key policies, if any: the isolate learns that with its first answer.
          const keyScopes = "keysEpoch" in req && req.keysEpoch === 1 ? null : { epoch: 1, keys: keyPolicies.length > 0 ? allKeys : [] };
          const answer: LeaseAnswer = { nowMs: objectNow, lease: d.lease, states: d.states, violated: d.violated, shadowRemaining: [], revoked: [], revocationCursor: 0, keyScopes };
          if (random() < world.lossRate) return events.push(now + world.settings.timeoutMs, lost); // the answer never arrives
          events.push(now + Math.floor(random() * world.maxDelayMs), () => resolve(answer));
        });
      });
    return { holder, exchange, realAt, hoarded: new Set() };
  };
  const isolates = new Map<string, Isolate>();
  const perIsolateRtt = new Map<number, RoundTrip>();
  const isolateRtt = (at: number): RoundTrip => {
    let rt = perIsolateRtt.get(at);
    if (rt === undefined) perIsolateRtt.set(at, (rt = newRoundTrip()));
    return rt;
  };
  const isolateFor = (a: Arrival): Isolate => {
    if (a.isolate < 0) return makeIsolate(a.key, roundTrips[Math.floor(random() * roundTrips.length)] ?? newRoundTrip());
    const name = world.holderPerKey === true ? `${a.isolate}/${a.key ?? ""}` : String(a.isolate);
    let iso = isolates.get(name);
    if (iso === undefined) isolates.set(name, (iso = makeIsolate(a.key, isolateRtt(a.isolate))));
    return iso;
  };

  const run = (iso: Isolate, key: string | null, cost: number, index: number | null) =>
    void iso.holder.admit(key, cost, world.settings, iso.exchange, () => {}).then((o: Outcome) => {
      if (o.kind === "admitted") {
        uses.push({ t: now, units: cost, key });
        if (index !== null) admitted[index] = true;
      } else if (o.kind === "refused") refused++;
      else if (o.kind === "unavailable") unavailable++;
    });
  world.arrivals.forEach((a, index) => events.push(start + a.t, () => run(isolateFor(a), a.key, a.cost, index)));

  const hoardLate = (iso: Isolate) => {
    const visible = (iso.holder as unknown as { leasesInHand: () => Visible[] }).leasesInHand();
    for (const lease of visible) {
      if (iso.hoarded.has(lease.id)) continue;
      iso.hoarded.add(lease.id);
      const last = iso.realAt(lease.usableUntilMs - 1);
      for (let b = 0; b < lease.left; b++) events.push(last, () => run(iso, lease.keyId, 1, null));
    }
  };
  for (let e = events.pop(); e !== undefined; e = events.pop()) {
    now = Math.max(now, e.at);
    e.run();
    await flush();
    if (world.hoard) for (const iso of isolates.values()) hoardLate(iso);
  }
  const fromStart = uses.map((u) => ({ ...u, t: u.t - start }));
  return { uses: fromStart.sort((a, b) => a.t - b.t), admitted, exchanges, refused, unavailable };
}

/** Poisson arrival times at `perMs` over [from, to). */
export function poisson(random: () => number, perMs: number, from: number, to: number): number[] {
  const out: number[] = [];
  for (let t = from + -Math.log(1 - random()) / perMs; t < to; t += -Math.log(1 - random()) / perMs) out.push(Math.floor(t));
  return out;
}
