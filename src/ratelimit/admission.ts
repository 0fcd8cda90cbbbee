/**
 * The isolate's lease holders (./lease-holder.ts, whose `admit` admits one request): ONE holder per tenant,
 * whatever principal asks (a key's own policies are checked inside it). The holders' clock and timer are
 * replaceable, so tests move time exactly.
 */
import { LeaseHolder, type Sleep } from "./lease-holder";
import { newRoundTrip } from "./round-trip";

const MAX_HOLDERS = 10_000;
const holders = new Map<string, LeaseHolder>();
const realClock = () => Date.now();
const realSleep: Sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
let clock: () => number = realClock;
let sleep: Sleep = realSleep;
/** The isolate's round trip to tenants' objects, shared by all its holders (round-trip.ts). */
const isolateRtt = newRoundTrip();

/**
 * The isolate's holder for a tenant. Created on first use; past 10,000 the least recently created is
 * dropped, and gives its unused permits back in the background (`background`), so none are stranded.
 */
export function holderFor(tenantId: string, background: (p: Promise<unknown>) => void): LeaseHolder {
  let holder = holders.get(tenantId);
  if (holder === undefined) {
    if (holders.size >= MAX_HOLDERS) {
      const [oldest, dropped] = holders.entries().next().value as [string, LeaseHolder];
      holders.delete(oldest);
      dropped.giveBack(background);
    }
    holders.set(tenantId, (holder = new LeaseHolder(tenantId, () => clock(), (ms) => sleep(ms), isolateRtt)));
  }
  return holder;
}

/** After an admin change made through this isolate: its next request for the tenant (any principal) asks the object. */
export function forgetLease(tenantId: string): void {
  holders.get(tenantId)?.forget();
}

/**
 * Replaces the isolate clock the holders read, and the timer they wait on for a lease's end (tests move
 * time with them; null restores the real ones).
 */
export function setLeaseClock(now: (() => number) | null, wait: Sleep | null = null): void {
  clock = now ?? realClock;
  sleep = wait ?? realSleep;
}

/** How many holders this isolate keeps (tests of the bound). */
export function holderCount(): number {
  return holders.size;
}
