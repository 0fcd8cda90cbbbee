/**
 * The isolate's side of permit leases, one holder per tenant: requests are admitted from the permits in
 * hand with no call to the tenant's Durable Object; the holder renews ahead of need (in the background), and
 * a request waits for the object only when no usable permit is held (a cold isolate, an exhausted lease, a
 * tenant near its limit). Concurrent requests that must wait share one exchange and are served in arrival
 * order. What the exchange also carries, the holder keeps: the revoked keys of the tenant (so a revoked key
 * is refused within one lease's life everywhere) and the last refusal (so a tenant over its limit is refused
 * here, for at most `denyForMs`, after which the object is asked again and a raised limit is seen).
 *
 * The clock and the exchange are parameters, so the lease rules are tested with exact times.
 */
import { isKnownRevoked, rememberRevoked } from "../auth/revoked-keys";
import type { LeaseSettings } from "../config/rate-limit";
import { withDeadline } from "../shared/with-deadline";
import type { LeaseReport } from "./lease-ledger";
import type { PolicyState } from "./sliding-window";
import type { LeaseAnswer, LeaseRequest } from "./limiter-protocol";

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

/** What waiting requests learn from an exchange: look again (a lease or a refusal is now in hand), or the limiter failed. */
type ExchangeResult = { failed: false } | { failed: true; reason: string };

interface Held {
  id: string;
  permits: number;
  left: number;
  sentAtMs: number;
  usableUntilMs: number;
  ttlMs: number;
  lastUseOffsetMs: number;
  states: PolicyState[];
  shadowRemaining: Array<{ name: string; remaining: number }>;
  /** The object's clock minus ours, measured when the answer came. */
  skewMs: number;
}

export type Exchange = (req: Omit<LeaseRequest, "defaults" | "holderId" | "keyId">) => Promise<LeaseAnswer>;

const MAX_WANT = 10_000;
/** What a cold holder asks for beyond its waiting requests. */
const COLD_WANT = 8;

/** Leases held at once at most (a renewal arrives while the lease it replaces is still in use). */
const MAX_HELD = 8;
/** Near the limit, exchanges in flight at once per tenant: each waiting request asks for itself, as one would without leases. */
const MAX_PARALLEL = 16;

export class LeaseHolder {
  /** Leases in hand, oldest first. */
  private held: Held[] = [];
  private finished: LeaseReport[] = [];
  private waiting = 0;
  private inflight = 0;
  private latest: Promise<ExchangeResult> | null = null;
  /** The last grant was the fewest worth granting: the tenant is near its limit and exchanges stop being shared. */
  private nearLimit = false;
  /** The last refusal, for requests of at least its cost (a cheaper one may still fit). */
  private denial: { untilMs: number; cost: number; violated: PolicyState; states: PolicyState[]; skewMs: number } | null = null;
  private cursor = 0;
  /** Permits used per ms of the last retired lease: the demand estimate for the next want. */
  private lastRate: number | null = null;

  constructor(
    private readonly tenantId: string,
    private readonly now: () => number,
  ) {}

  /** Drops the leases in hand and any cached refusal, so the next request asks the object (after an admin change here). */
  forget(): void {
    const nowMs = this.now();
    for (const held of [...this.held]) this.retire(held, nowMs);
    this.denial = null;
  }

  /**
   * Admits or refuses from what the isolate holds: a lease in hand, then a cached refusal. Otherwise it
   * returns the exchange to wait for: the one under way, or (none under way, or the tenant near its limit)
   * a new one for this request; `background` receives a new exchange and the caller hands it to `waitUntil`.
   * A renewal ahead of need is started the same way.
   */
  acquire(keyId: string | null, cost: number, settings: LeaseSettings, exchange: Exchange, background: (p: Promise<unknown>) => void): Outcome | Promise<ExchangeResult> {
    if (keyId !== null && isKnownRevoked(this.tenantId, keyId)) return { kind: "revoked" };
    const nowMs = this.now();
    const held = this.usable(nowMs, cost);
    if (held !== null) {
      const outcome = this.take(held, nowMs, cost);
      if (this.inflight === 0 && this.shouldRenew(nowMs, settings)) background(this.start(settings, exchange, false, 1));
      return outcome;
    }
    const denial = this.denial;
    if (denial !== null && nowMs < denial.untilMs && cost >= denial.cost) {
      return { kind: "refused", violated: denial.violated, states: denial.states, limiterNowMs: nowMs + denial.skewMs, cached: true };
    }
    const parallel = this.nearLimit ? MAX_PARALLEL : 1;
    if (this.inflight < parallel || this.latest === null) {
      const p = this.start(settings, exchange, parallel > 1, cost);
      background(p);
      return p;
    }
    return this.latest;
  }

  /** Counts a request waiting for an exchange, so the exchange asks for it too. */
  wait<T>(p: Promise<T>): Promise<T> {
    this.waiting++;
    return p.finally(() => this.waiting--);
  }

  /** The usable lease with room for `cost` that ends first, if any. */
  private usable(nowMs: number, cost: number): Held | null {
    for (const held of this.held) if (held.left >= cost && nowMs < held.usableUntilMs) return held;
    return null;
  }

  private take(held: Held, nowMs: number, cost: number): Outcome {
    // This request's permits are the lease's next ones: a shadow policy would have refused those past its remaining.
    const first = held.permits - held.left;
    const shadowViolated = held.shadowRemaining.filter((s) => first + cost > s.remaining).map((s) => s.name);
    held.left -= cost;
    held.lastUseOffsetMs = nowMs - held.sentAtMs;
    // Remaining as the object last stated it, plus the permits still in hand: never more than the object
    // granted minus what this isolate admitted since.
    const newest = this.held[this.held.length - 1] ?? held;
    const inHand = this.held.reduce((n, h) => n + (nowMs < h.usableUntilMs ? h.left : 0), 0);
    const states = newest.states.map((s) => ({ ...s, remaining: Math.min(s.policy.limit, s.remaining + inHand) }));
    return { kind: "admitted", states, limiterNowMs: nowMs + newest.skewMs, waited: false, atMs: nowMs, shadowViolated };
  }

  /**
   * Renew once the newest lease is half spent or half through its life, so the next one arrives before need.
   * Not near the limit (one-permit leases): there each request asks for itself.
   */
  private shouldRenew(nowMs: number, settings: LeaseSettings): boolean {
    const newest = this.held[this.held.length - 1];
    if (newest === undefined || this.nearLimit) return false;
    return newest.left * 2 <= newest.permits || nowMs - newest.sentAtMs >= settings.ttlMs / 2;
  }

  /** How many permits to ask for: the last lease's rate over a lease's life, with room to grow, plus every waiting request. */
  private want(ttlMs: number): number {
    const base = this.lastRate === null ? COLD_WANT : Math.ceil(this.lastRate * ttlMs * 1.5);
    return Math.min(MAX_WANT, Math.max(1, base) + this.waiting);
  }

  /** Retires a lease: it will be used no more, and its report goes with the next exchange. */
  private retire(held: Held, nowMs: number): void {
    const used = held.permits - held.left;
    // Over at least a quarter of a lease's life: a burst that empties a lease in a few ms is not a rate.
    const heldMs = Math.max(held.ttlMs / 4, Math.min(nowMs, held.usableUntilMs) - held.sentAtMs);
    this.lastRate = used / heldMs;
    this.finished.push({ id: held.id, used, lastUseOffsetMs: held.lastUseOffsetMs });
    this.held = this.held.filter((h) => h !== held);
  }

  /**
   * Starts one exchange. Its promise is made here, in the context of the request that starts it, and the
   * requests that wait for it follow it from theirs: the runtime then resumes each in its own context
   * (a promise made by the waiting request itself and settled from another would resume it in the other's).
   * `single`: near the limit, the request asks for one permit, for itself.
   */
  private start(settings: LeaseSettings, exchange: Exchange, single: boolean, cost: number): Promise<ExchangeResult> {
    this.inflight++;
    const p = this.exchangeOnce(settings, exchange, single, cost).finally(() => {
      this.inflight--;
      if (this.latest === p) this.latest = null;
    });
    this.latest = p;
    return p;
  }

  private async exchangeOnce(settings: LeaseSettings, exchange: Exchange, single: boolean, cost: number): Promise<ExchangeResult> {
    const sentAtMs = this.now();
    // Leases that can no longer be used are reported now, so their unused permits are released with this exchange.
    for (const held of this.held.filter((h) => h.left === 0 || sentAtMs >= h.usableUntilMs)) this.retire(held, sentAtMs);
    const reports = this.finished;
    this.finished = [];
    const want = single ? cost : Math.max(cost, this.want(settings.ttlMs));
    let answer: LeaseAnswer;
    try {
      const late = () => new LimiterTimeout(`limiter did not answer within ${settings.timeoutMs} ms`);
      answer = await withDeadline(exchange({ want, min: cost, ttlMs: settings.ttlMs, reports, revocationCursor: this.cursor }), settings.timeoutMs, late);
    } catch (err) {
      this.finished.push(...reports); // a report is idempotent: sending it again is safe
      return { failed: true, reason: err instanceof Error ? `${err.name}: ${err.message}` : String(err) };
    }
    const nowMs = this.now();
    const skewMs = answer.nowMs - nowMs;
    rememberRevoked(this.tenantId, answer.revoked);
    this.cursor = Math.max(this.cursor, answer.revocationCursor);
    if (answer.lease === null) {
      const violated = answer.violated ?? answer.states[0];
      if (violated === undefined) return { failed: true, reason: "limiter refused without a policy" };
      const retryAtMs = (violated.retryAtMs ?? answer.nowMs) - skewMs;
      // Asked again half a round trip before the retry time, so the request reaches the object as a permit
      // frees (the object decides; ending a cached refusal early is always safe). Held at least until
      // now + 1 ms, so the requests waiting for this exchange all see it.
      const untilMs = Math.min(retryAtMs - (nowMs - sentAtMs) / 2, nowMs + settings.denyForMs);
      this.denial = { untilMs: Math.max(nowMs + 1, untilMs), cost, violated, states: answer.states, skewMs };
      return { failed: false };
    }
    this.denial = null;
    const { id, permits, ttlMs } = answer.lease;
    this.nearLimit = permits <= cost;
    const usableUntilMs = sentAtMs + ttlMs - settings.marginMs;
    const held: Held = { id, permits, left: permits, sentAtMs, usableUntilMs, ttlMs, lastUseOffsetMs: 0, states: answer.states, shadowRemaining: answer.shadowRemaining, skewMs };
    this.held.push(held);
    const oldest = this.held[0];
    if (this.held.length > MAX_HELD && oldest !== undefined) this.retire(oldest, nowMs);
    if (nowMs >= usableUntilMs) {
      this.retire(held, nowMs);
      return { failed: true, reason: `lease arrived after its end (${nowMs - sentAtMs} ms)` };
    }
    return { failed: false };
  }
}

class LimiterTimeout extends Error {
  override name = "LimiterTimeout";
}
