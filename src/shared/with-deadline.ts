/**
 * The one bounded wait on a promise from outside the Worker (a Durable Object call, a lookup): it settles as
 * `promise` does, or rejects with `late()` after `ms`. The timer is cleared as soon as the answer comes:
 * AbortSignal.timeout would need no clearing, but its timers stay pending until they fire, and at a thousand
 * requests a second that pile grew the isolate's memory and CPU per request (bench).
 */
import { StoreUnavailable } from "./unavailable";

export async function withDeadline<T>(promise: Promise<T>, ms: number, late: () => Error = () => new StoreUnavailable(`no answer within ${ms} ms`)): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(late()), ms);
  });
  try {
    return await Promise.race([promise, deadline]);
  } finally {
    if (timer !== undefined) clearTimeout(timer);
  }
}
