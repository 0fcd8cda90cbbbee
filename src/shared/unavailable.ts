/**
 * Which failures of a call to one of the gateway's stores are the store not answering, and which are bugs.
 * Only the first is 503 with `Retry-After` (asking again is the remedy); anything else, a TypeError in our
 * own code or an error the Durable Object's code threw, is an exception: logged as one and answered 500.
 * Passing a bug off as unavailability would hide it from the log and send clients into retries that
 * cannot succeed.
 */

/** A store that did not answer: late (`withDeadline`), or its binding failed (a KV read that rejected). */
export class StoreUnavailable extends Error {
  override name = "StoreUnavailable";
}

/** The flags the Workers runtime sets on a Durable Object call's error (developers.cloudflare.com/durable-objects/best-practices/error-handling). */
interface RuntimeErrorFlags {
  remote?: unknown;
  retryable?: unknown;
  overloaded?: unknown;
  durableObjectReset?: unknown;
}

/**
 * True when `err` says the store could not answer: a StoreUnavailable, or an error the runtime raised for
 * an object it could not reach (`retryable`, `overloaded`, `durableObjectReset`) that the object's own
 * code did not throw (`remote`).
 */
export function isUnavailable(err: unknown): boolean {
  if (err instanceof StoreUnavailable) return true;
  if (typeof err !== "object" || err === null) return false;
  const flags = err as RuntimeErrorFlags;
  return flags.remote !== true && (flags.retryable === true || flags.overloaded === true || flags.durableObjectReset === true);
}
