/** The gateway's one bounded read of a product body: at most `max` bytes, and never past a deadline. */

export interface Prefix {
  bytes: Uint8Array;
  /** The whole body was read. */
  complete: boolean;
  /** The deadline expired first; the rest was cancelled. */
  timedOut: boolean;
}

/** `reader.read()`, or a rejection with `expired` once `signal` aborts. */
function readBefore<T>(reader: ReadableStreamDefaultReader<T>, signal: AbortSignal, expired: symbol): Promise<ReadableStreamReadResult<T>> {
  if (signal.aborted) return Promise.reject(expired);
  return new Promise((resolve, reject) => {
    const onAbort = () => reject(expired);
    signal.addEventListener("abort", onAbort, { once: true });
    reader.read().then(
      (r) => {
        signal.removeEventListener("abort", onAbort);
        resolve(r);
      },
      (err: unknown) => {
        signal.removeEventListener("abort", onAbort);
        reject(err);
      },
    );
  });
}

/**
 * Reads at most `max` bytes before `signal` aborts; cancels the rest. A body cut off by the upstream
 * (connection lost mid-body) is an incomplete read, not an exception: the answer is still judged by its
 * status. A body that stalls until the deadline is `timedOut`.
 */
export async function readPrefix(body: ReadableStream<Uint8Array> | null, max: number, signal: AbortSignal): Promise<Prefix> {
  if (body === null) return { bytes: new Uint8Array(0), complete: true, timedOut: false };
  const reader = body.getReader();
  const out = new Uint8Array(max);
  const expired = Symbol("deadline");
  let size = 0;
  const partial = (timedOut: boolean): Prefix => ({ bytes: out.subarray(0, size), complete: false, timedOut });
  try {
    for (;;) {
      const { done, value } = await readBefore(reader, signal, expired);
      if (done) return { bytes: out.subarray(0, size), complete: true, timedOut: false };
      if (size + value.byteLength > max) {
        await reader.cancel();
        return partial(false);
      }
      out.set(value, size);
      size += value.byteLength;
    }
  } catch (err) {
    // Not awaited: a stalled stream's cancel may itself wait on the product.
    reader.cancel().catch(() => undefined);
    return partial(err === expired || signal.aborted);
  }
}
