/**
 * Admission for one request from the isolate's lease holders (./lease-holder.ts): one holder per tenant (and
 * per integration key with its own policies), and the loop that admits, refuses or reports the limiter
 * unavailable. The holders' clock is replaceable, so tests move time exactly.
 */
import type { LeaseSettings } from "../config/rate-limit";
import { LeaseHolder, type Exchange, type Outcome } from "./lease-holder";

/** A request waits for at most this many exchanges (each served requests ahead of it first). */
const MAX_ATTEMPTS = 64;

/**
 * Admits, refuses or reports the limiter unavailable for one request: from what the isolate holds, or after
 * waiting for an exchange (then it looks again, since the requests ahead of it may have taken the permits).
 */
export async function admit(
  holder: LeaseHolder,
  keyId: string | null,
  cost: number,
  settings: LeaseSettings,
  exchange: Exchange,
  background: (p: Promise<unknown>) => void,
): Promise<Outcome> {
  for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
    const got = holder.acquire(keyId, cost, settings, exchange, background);
    if (!(got instanceof Promise)) {
      if (attempt === 0) return got;
      // This request waited for an exchange: what it got came from the object just now.
      return got.kind === "admitted" ? { ...got, waited: true } : got.kind === "refused" ? { ...got, cached: false } : got;
    }
    const result = await holder.wait(got);
    if (result.failed) return { kind: "unavailable", reason: result.reason };
  }
  return { kind: "unavailable", reason: `no permit after ${MAX_ATTEMPTS} exchanges` };
}

const MAX_HOLDERS = 10_000;
const holders = new Map<string, LeaseHolder>();
let clock: () => number = () => Date.now();

/**
 * The isolate's holder for a tenant's leases (`keyId`: an integration key's, which its own policies apply
 * to besides the tenant's; null for the tenant's other principals). Created on first use; the oldest is
 * dropped past 10,000, which only under-admits.
 */
export function holderFor(tenantId: string, keyId: string | null): LeaseHolder {
  const name = `${tenantId}\n${keyId ?? ""}`;
  let holder = holders.get(name);
  if (holder === undefined) {
    if (holders.size >= MAX_HOLDERS) holders.delete(holders.keys().next().value as string);
    holders.set(name, (holder = new LeaseHolder(tenantId, () => clock())));
  }
  return holder;
}

/** After an admin change made through this isolate: its next request for the tenant (any key) asks the object. */
export function forgetLease(tenantId: string): void {
  for (const [name, holder] of holders) if (name.startsWith(`${tenantId}\n`)) holder.forget();
}

/** Replaces the isolate clock the holders read (tests move time with it; null restores the real clock). */
export function setLeaseClock(now: (() => number) | null): void {
  clock = now ?? (() => Date.now());
}
