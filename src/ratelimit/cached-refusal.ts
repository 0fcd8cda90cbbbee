/**
 * The cached refusal: the object's last refusal, answered from the isolate for a short while so a tenant
 * over its limit does not cost a call per request. Pure.
 *
 * It applies to requests of at least its cost (a cheaper one may still fit) and, when a key's own policy
 * refused, to that key only. It lasts at most `denyForMs` (one lease life, so a raised limit is seen within
 * it) and ends half a round trip before the object's retry time, so the next request reaches the object
 * as the permit frees.
 */
import type { PolicyState } from "./sliding-window";

export interface CachedRefusal {
  untilMs: number;
  cost: number;
  /** Null: a tenant policy refused (every principal); else the key whose own policy refused. */
  keyId: string | null;
  violated: PolicyState;
  states: PolicyState[];
  skewMs: number;
}

/** Until when (isolate clock) to answer the refusal here; at least 1 ms past now, so the requests waiting for its exchange all see it. */
export function refusalUntil(retryAtObjectMs: number | null, skewMs: number, sentAtMs: number, nowMs: number, denyForMs: number): number {
  const retryAtMs = (retryAtObjectMs ?? nowMs + skewMs) - skewMs;
  return Math.max(nowMs + 1, Math.min(retryAtMs - (nowMs - sentAtMs) / 2, nowMs + denyForMs));
}

/** Whether the refusal answers a request of `keyId` and `cost` at `nowMs`. */
export function refuses(refusal: CachedRefusal | null, keyId: string | null, cost: number, nowMs: number): refusal is CachedRefusal {
  return refusal !== null && nowMs < refusal.untilMs && cost >= refusal.cost && (refusal.keyId === null || refusal.keyId === keyId);
}
