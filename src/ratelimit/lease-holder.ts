/**
 * The lease holder: the isolate's side of permit leases, ONE per tenant per isolate (admission.ts keeps
 * them). Requests are admitted from permits in hand with no call to the tenant's Durable Object; a request
 * waits for the object only when none is in hand. Each idea has its home:
 *
 * - leases in hand, and what using one means: held-lease.ts (pure);
 * - pools: the tenant's permits are one pool shared by every principal; a key with policies of its own draws
 *   on its own pool (its permits count in its policies too). The object says which keys those are (`keysEpoch`);
 * - the demand estimate, which sizes what a pool asks for ahead of need: demand.ts (pure);
 * - the cached refusal: cached-refusal.ts (pure);
 * - the waiting line: requests that wait for an exchange are served in arrival order from its grant, which
 *   includes every unit they need, so no request can lose its permit to a later one (no retry limit, no
 *   admission without a permit: a request ends admitted, refused, or with the limiter unavailable);
 * - renewal: a busy pool asks again once its newest lease is half spent or half through its life;
 * - giving back: a lease that ends with permits unused, and no other lease in hand to carry its report soon,
 *   reports in the background at its end (`background`: the request's waitUntil), so its permits stop being
 *   counted; a pool with nothing to give back makes no call;
 * - the revocation cursor: each exchange brings the tenant's revoked keys after it (auth/revoked-keys.ts).
 *
 * The clock, the timer and the exchange are parameters, so the rules are tested with exact times.
 */
import { isKnownRevoked, rememberRevoked } from "../auth/revoked-keys";
import type { LeaseSettings } from "../config/rate-limit";
import { withDeadline } from "../shared/with-deadline";
import { refusalUntil, refuses, type CachedRefusal } from "./cached-refusal";
import { aheadFor, aheadOfNeed, currentRate, newDemand, noteUse, sampleDemand, type Demand } from "./demand";
import { creditFor, newClockBound, noteAnswer, type ClockBound } from "./clock-bound";
import { canTake, correctionWorth, justInTimeLife, mayNeedCorrection, permitsInHand, reportOf, statesWithInHand, takePermits, type HeldLease } from "./held-lease";
import type { LeaseReport } from "./lease-ledger";
import type { LeaseAnswer, LeaseRequest } from "./limiter-protocol";
import { newRoundTrip, noteRoundTrip, type RoundTrip } from "./round-trip";
import type { PolicyState } from "./sliding-window";

export type Outcome =
  | {
      kind: "admitted";
      states: PolicyState[];
      limiterNowMs: number;
      waited: boolean;
      /** The isolate's clock at admission. */
      atMs: number;
      /** Shadow policies that would have refused this admission. */
      shadowViolated: string[];
    }
  | { kind: "refused"; violated: PolicyState; states: PolicyState[]; limiterNowMs: number; cached: boolean }
  | { kind: "revoked" }
  | { kind: "unavailable"; reason: string };

export type Exchange = (req: Omit<LeaseRequest, "defaults" | "holderId">) => Promise<LeaseAnswer>;
export type Sleep = (ms: number) => Promise<void>;
type Background = (p: Promise<unknown>) => void;

/** What a waiting request learns from an exchange: look again, or the limiter failed (or answered too late to use). */
type ExchangeResult = { kind: "answered" } | { kind: "failed"; reason: string } | { kind: "late"; reason: string };

interface Finished {
  report: LeaseReport;
  unused: number;
  /** Worth a report of its own even with nothing unused (held-lease.ts, `correctionWorth`). */
  correct: boolean;
}

interface Waiter {
  cost: number;
  keyId: string | null;
  admitted: Outcome | null;
}

/** The permits one scope draws on: the tenant's (name "") or a key's with policies of its own (its id). */
interface Pool {
  leases: HeldLease[];
  demand: Demand;
  /** In arrival order (a Set keeps insertion order, and a request leaves it in O(1)). */
  line: Set<Waiter>;
  inflight: number;
  latest: Promise<ExchangeResult> | null;
}

const MAX_WANT = 10_000;
/** Leases held at once per pool (a renewal arrives while the lease it replaces is still in use). */
const MAX_HELD = 8;
/** Reports kept for the next exchange at most; past it the oldest are dropped (their permits stay counted). */
const MAX_FINISHED = 256;
/** Answers arriving after their lease's end that a request accepts before the limiter counts as unable to answer. */
const MAX_LATE = 3;

export class LeaseHolder {
  private readonly pools = new Map<string, Pool>();
  /** Reports of leases that will be used no more, not sent yet, with the permits each gives back. */
  private finished: Finished[] = [];
  /** Cached refusals by scope: "" for the tenant's policies, a key id for a key's own. */
  private readonly refusals = new Map<string, CachedRefusal>();
  private cursor = 0;
  /** The keys with policies of their own, as of `keysEpoch` (-1: not known yet). */
  private scopedKeys = new Set<string>();
  private keysEpoch = -1;
  private inflight = 0;
  /** The round trip to this tenant's object: the longest recent one, decaying (null: none measured yet). */
  private readonly rtt: RoundTrip = newRoundTrip();
  /** How far the object's clock can be ahead of ours, as the answers so far prove (clock-bound.ts). */
  private readonly clock: ClockBound = newClockBound();
  /** The exchange function of the last request, to give permits back when this holder is dropped. */
  private lastExchange: { exchange: Exchange; settings: LeaseSettings } | null = null;

  constructor(
    private readonly tenantId: string,
    private readonly now: () => number,
    private readonly sleep: Sleep,
    /** The isolate's round trip, shared by the holders of all its tenants: used until this tenant's is measured. */
    private readonly isolateRtt: RoundTrip = newRoundTrip(),
  ) {}

  /**
   * Admits, refuses or reports the limiter unavailable for one request: from a lease in hand, a cached
   * refusal, or after waiting for an exchange (`background` receives each exchange and each report, for
   * `waitUntil`).
   */
  async admit(keyId: string | null, cost: number, settings: LeaseSettings, exchange: Exchange, background: Background): Promise<Outcome> {
    this.lastExchange = { exchange, settings };
    let waited = false;
    let late = 0;
    for (;;) {
      if (keyId !== null && isKnownRevoked(this.tenantId, keyId)) return { kind: "revoked" };
      const nowMs = this.now();
      const name = this.poolName(keyId);
      const pool = this.pool(name);
      const lease = pool.leases.find((l) => canTake(l, nowMs, cost));
      if (lease !== undefined) {
        const outcome = this.take(pool, lease, nowMs, cost, waited);
        // The renewal is handed to `background` by start(); this request does not wait for it.
        if (pool.inflight === 0 && this.shouldRenew(pool, nowMs, settings)) void this.start(pool, name, keyId, settings, exchange, background);
        return outcome;
      }
      const refusal = this.refusals.get("") ?? null;
      const own = keyId === null ? null : (this.refusals.get(keyId) ?? null);
      for (const r of [refusal, own]) {
        if (refuses(r, keyId, cost, nowMs)) return { kind: "refused", violated: r.violated, states: r.states, limiterNowMs: nowMs + r.skewMs, cached: !waited };
      }
      const waiter: Waiter = { cost, keyId, admitted: null };
      pool.line.add(waiter);
      // One exchange in flight per pool: a request arriving meanwhile waits for it, and for the next one if
      // its grant (sized for the requests waiting when it was sent) did not cover it.
      const result = await (pool.latest ?? this.start(pool, name, keyId, settings, exchange, background));
      pool.line.delete(waiter);
      if (waiter.admitted !== null) return waiter.admitted;
      if (result.kind === "failed") return { kind: "unavailable", reason: result.reason };
      if (result.kind === "late" && ++late >= MAX_LATE) return { kind: "unavailable", reason: result.reason };
      waited = true;
    }
  }

  /** Drops the leases in hand and any cached refusal, so the next request asks the object (after an admin change here). */
  forget(): void {
    for (const pool of this.pools.values()) this.retireAll(pool);
    this.refusals.clear();
  }

  /** When this holder is dropped: its unused permits are given back in the background, not stranded. */
  giveBack(background: Background): void {
    this.forget();
    if (this.lastExchange !== null && this.worthReporting()) background(this.report(this.lastExchange.exchange, this.lastExchange.settings));
  }

  /** The leases in hand (for tests that play an adversary with perfect timing). */
  leasesInHand(): ReadonlyArray<Readonly<HeldLease>> {
    return [...this.pools.values()].flatMap((p) => p.leases);
  }

  private poolName(keyId: string | null): string {
    return keyId !== null && this.scopedKeys.has(keyId) ? keyId : "";
  }

  private pool(name: string): Pool {
    let pool = this.pools.get(name);
    if (pool === undefined) this.pools.set(name, (pool = { leases: [], demand: newDemand(), line: new Set(), inflight: 0, latest: null }));
    return pool;
  }

  private take(pool: Pool, lease: HeldLease, nowMs: number, cost: number, waited: boolean): Outcome {
    const shadowViolated = takePermits(lease, nowMs, cost);
    noteUse(pool.demand, cost);
    const newest = pool.leases[pool.leases.length - 1] ?? lease;
    const inHand = permitsInHand(pool.leases, nowMs);
    return { kind: "admitted", states: statesWithInHand(newest, inHand), limiterNowMs: nowMs + newest.skewMs, waited, atMs: nowMs, shadowViolated };
  }

  /** Renewal: once the permits in hand are half the newest lease's or it is half through its life, if the pool expects more use. */
  private shouldRenew(pool: Pool, nowMs: number, settings: LeaseSettings): boolean {
    const newest = pool.leases[pool.leases.length - 1];
    const inHand = permitsInHand(pool.leases, nowMs);
    if (newest === undefined || (inHand * 2 > newest.permits && nowMs - newest.sentAtMs < settings.ttlMs / 2)) return false;
    return aheadFor(currentRate(pool.demand, nowMs, settings.ttlMs), settings.ttlMs, MAX_WANT) > 0;
  }

  private retire(pool: Pool, lease: HeldLease): void {
    this.finish(lease);
    pool.leases = pool.leases.filter((l) => l !== lease);
  }

  private retireAll(pool: Pool): void {
    for (const lease of [...pool.leases]) this.retire(pool, lease);
  }

  /** Queues a lease's report for the next exchange (past MAX_FINISHED the oldest is dropped: its permits stay counted). */
  private finish(lease: HeldLease): void {
    this.finished.push({ report: reportOf(lease), unused: lease.left, correct: correctionWorth(lease) });
    if (this.finished.length > MAX_FINISHED) this.finished.shift();
  }

  /**
   * Starts one exchange for `pool`: asks for the units of its waiting line, plus what its
   * demand estimate expects ahead of need. The promise is made here, in the context of the request that
   * starts it; requests that wait for it follow it from theirs.
   */
  private start(pool: Pool, name: string, keyId: string | null, settings: LeaseSettings, exchange: Exchange, background: Background): Promise<ExchangeResult> {
    const nowMs = this.now();
    sampleDemand(pool.demand, nowMs, settings.ttlMs);
    const waiting = [...pool.line].filter((w) => w.admitted === null);
    const need = waiting.reduce((n, w) => n + w.cost, 0);
    const want = Math.min(MAX_WANT, need + aheadOfNeed(pool.demand, settings.ttlMs, MAX_WANT));
    const min = waiting[0]?.cost ?? 1;
    // Just in time: a grant for the waiting requests alone is used the moment it arrives, so it is asked for
    // a life just long enough to arrive (counted at its end: the shorter, the closer to the real use).
    // A holder new to its tenant uses the isolate's round trip to other tenants' objects.
    const rttMs = this.rtt.ms ?? this.isolateRtt.ms;
    const ttlMs = want === need && rttMs !== null ? justInTimeLife(rttMs, settings) : settings.ttlMs;
    pool.inflight++;
    this.inflight++;
    const p = this.exchangeOnce(pool, name === "" ? keyId : name, settings, exchange, background, { want: Math.max(want, min), need, min, ttlMs }).finally(() => {
      pool.inflight--;
      this.inflight--;
      if (pool.latest === p) pool.latest = null;
    });
    pool.latest = p;
    background(p);
    return p;
  }

  /** Reports and clears what has ended; put back if the call fails (a report is idempotent). */
  private takeReports(nowMs: number): Finished[] {
    for (const pool of this.pools.values()) for (const lease of pool.leases.filter((l) => l.left === 0 || nowMs >= l.usableUntilMs)) this.retire(pool, lease);
    const reports = this.finished;
    this.finished = [];
    return reports;
  }

  private async call(exchange: Exchange, settings: LeaseSettings, req: Omit<LeaseRequest, "defaults" | "holderId" | "reports" | "revocationCursor" | "keysEpoch">, reports: Finished[]): Promise<LeaseAnswer | { failed: string }> {
    try {
      const late = () => new LimiterTimeout(`limiter did not answer within ${settings.timeoutMs} ms`);
      const sentAtMs = this.now();
      const answer = await withDeadline(exchange({ ...req, reports: reports.map((f) => f.report), revocationCursor: this.cursor, keysEpoch: this.keysEpoch }), settings.timeoutMs, late);
      noteAnswer(this.clock, sentAtMs, answer.nowMs);
      this.learn(answer);
      return answer;
    } catch (err) {
      this.finished.push(...reports);
      return { failed: err instanceof Error ? `${err.name}: ${err.message}` : String(err) };
    }
  }

  /** What every answer carries besides the lease: revoked keys after the cursor, and which keys have their own policies. */
  private learn(answer: LeaseAnswer): void {
    rememberRevoked(this.tenantId, answer.revoked);
    this.cursor = Math.max(this.cursor, answer.revocationCursor);
    if (answer.keyScopes !== null && answer.keyScopes.epoch !== this.keysEpoch) {
      this.keysEpoch = answer.keyScopes.epoch;
      this.scopedKeys = new Set(answer.keyScopes.keys);
    }
  }

  private async exchangeOnce(
    pool: Pool,
    keyId: string | null,
    settings: LeaseSettings,
    exchange: Exchange,
    background: Background,
    ask: { want: number; need: number; min: number; ttlMs: number },
  ): Promise<ExchangeResult> {
    const sentAtMs = this.now();
    const answer = await this.call(exchange, settings, { keyId, ...ask }, this.takeReports(sentAtMs));
    if ("failed" in answer) return { kind: "failed", reason: answer.failed };
    const nowMs = this.now();
    noteRoundTrip(this.rtt, nowMs - sentAtMs);
    noteRoundTrip(this.isolateRtt, nowMs - sentAtMs);
    const skewMs = answer.nowMs - nowMs;
    if (answer.lease === null) {
      const violated = answer.violated ?? answer.states[0];
      if (violated === undefined) return { kind: "failed", reason: "limiter refused without a policy" };
      const scope = violated.policy.scope === "key" ? keyId : null;
      const untilMs = refusalUntil(violated.retryAtMs, skewMs, sentAtMs, nowMs, settings.denyForMs);
      this.refusals.set(scope ?? "", { untilMs, cost: ask.min, keyId: scope, violated, states: answer.states, skewMs });
      return { kind: "answered" };
    }
    const { id, permits, ttlMs } = answer.lease;
    const leaseKey = answer.lease.keyId;
    this.refusals.delete(leaseKey ?? "");
    const usableUntilMs = sentAtMs + ttlMs - settings.marginMs;
    const creditMs = creditFor(this.clock, sentAtMs, answer.nowMs, usableUntilMs);
    const lease: HeldLease = { id, keyId: leaseKey, permits, left: permits, sentAtMs, usableUntilMs, lifeMs: ttlMs, uses: [], states: answer.states, shadowRemaining: answer.shadowRemaining, skewMs, creditMs };
    if (leaseKey !== null) this.scopedKeys.add(leaseKey);
    const target = this.pool(leaseKey ?? "");
    if (nowMs >= lease.usableUntilMs) {
      // Too late to use: given back with the next exchange (only under-admits meanwhile).
      this.finish(lease);
      return { kind: "late", reason: `lease arrived after its end (${nowMs - sentAtMs} ms)` };
    }
    target.leases.push(lease);
    const oldest = target.leases[0];
    if (target.leases.length > MAX_HELD && oldest !== undefined) this.retire(target, oldest);
    // The waiting line first, in arrival order: their units were asked for.
    for (const w of target.line) {
      if (w.admitted !== null || (w.keyId !== null && isKnownRevoked(this.tenantId, w.keyId))) continue;
      if (!canTake(lease, nowMs, w.cost)) break;
      w.admitted = this.take(target, lease, nowMs, w.cost, true);
    }
    if (lease.left > 0 || mayNeedCorrection(lease)) background(this.sleep(lease.usableUntilMs - nowMs).then(() => this.leaseEnded(exchange, settings)));
    return { kind: "answered" };
  }

  /**
   * At a lease's end: if permits are unused, or (windows under 60 s) its used permits are counted noticeably
   * later than their uses, and nothing will carry the report soon (no exchange in flight, no lease in hand
   * with permits left), report now so the object stops counting them, or counts them at their uses.
   */
  private async leaseEnded(exchange: Exchange, settings: LeaseSettings): Promise<void> {
    const nowMs = this.now();
    if (this.inflight > 0) return;
    for (const pool of this.pools.values()) if (pool.leases.some((l) => l.left > 0 && nowMs < l.usableUntilMs)) return;
    for (const pool of this.pools.values()) for (const lease of pool.leases.filter((l) => nowMs >= l.usableUntilMs)) this.retire(pool, lease);
    if (this.worthReporting()) await this.report(exchange, settings);
  }

  /** Whether the reports waiting are worth a call of their own: permits to give back, or uses to count earlier. */
  private worthReporting(): boolean {
    return this.finished.some((f) => f.unused > 0 || f.correct);
  }

  /** A report only: gives back what has ended (and learns what the answer carries). */
  private async report(exchange: Exchange, settings: LeaseSettings): Promise<void> {
    const reports = this.takeReports(this.now());
    if (reports.length === 0) return;
    this.inflight++;
    try {
      await this.call(exchange, settings, { keyId: null, want: 0, need: 0, min: 0, ttlMs: settings.ttlMs }, reports);
    } finally {
      this.inflight--;
    }
  }
}

class LimiterTimeout extends Error {
  override name = "LimiterTimeout";
}
