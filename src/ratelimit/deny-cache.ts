/**
 * Tenants known to be over their limit, per isolate: until the limiter's stated retry time, their requests
 * are refused here without calling the Durable Object, so a client hammering past its limit costs no
 * Durable Object round trip. Entries end at the retry time, so nothing is refused longer than the limiter said.
 */
import type { PolicyState } from "./sliding-window";

interface Entry {
  /** Local clock time until which the tenant is refused. */
  untilMs: number;
  violated: PolicyState;
  states: PolicyState[];
  /** The limiter's clock minus ours, so retry times stay in the limiter's frame. */
  skewMs: number;
}

const MAX_ENTRIES = 10_000;
const entries = new Map<string, Entry>();

export function rememberDenial(tenantId: string, violated: PolicyState, states: PolicyState[], limiterNowMs: number, localNowMs = Date.now()): void {
  const skewMs = limiterNowMs - localNowMs;
  const untilMs = (violated.retryAtMs ?? limiterNowMs) - skewMs;
  if (entries.size >= MAX_ENTRIES) entries.delete(entries.keys().next().value as string);
  entries.set(tenantId, { untilMs, violated, states, skewMs });
}

/** The cached denial for a tenant, with the time in the limiter's frame, or null when it has expired. */
export function cachedDenial(tenantId: string, localNowMs = Date.now()): { violated: PolicyState; states: PolicyState[]; limiterNowMs: number } | null {
  const entry = entries.get(tenantId);
  if (entry === undefined) return null;
  if (entry.untilMs <= localNowMs) {
    entries.delete(tenantId);
    return null;
  }
  return { violated: entry.violated, states: entry.states, limiterNowMs: localNowMs + entry.skewMs };
}

/** Forgets a tenant's denial (after an admin reset or policy change). */
export function forgetDenial(tenantId: string): void {
  entries.delete(tenantId);
}
