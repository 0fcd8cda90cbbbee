/**
 * The round trip from this isolate to the tenants' objects, as the lease holders measure it. It sets the life
 * a just-in-time grant is asked for (held-lease.ts, `justInTimeLife`): the shorter, the sooner its permits stop
 * being counted. One estimate is shared by the holders of every tenant in an isolate (admission.ts), so a
 * holder new to a tenant asks for a short life too; if its tenant's object is farther than the estimate says,
 * the grant arrives after its life, goes back unused, and the request asks again with the round trip now
 * measured (only under-admits). Pure: the estimate is a value its owner keeps.
 */
export interface RoundTrip {
  /** The longest recent round trip, decaying; null: none measured yet. */
  ms: number | null;
}

/** Each measured round trip's weight fades by this per exchange, so one slow answer does not set the life of every later grant. */
const DECAY = 0.9;

export function newRoundTrip(): RoundTrip {
  return { ms: null };
}

export function noteRoundTrip(rt: RoundTrip, ms: number): void {
  rt.ms = Math.max(ms, (rt.ms ?? 0) * DECAY);
}
