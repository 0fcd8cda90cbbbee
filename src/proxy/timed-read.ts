/** One bounded wait on a stream the gateway does not control (a client's upload, a product's body). */

export const IDLE = Symbol("idle");

/** `reader.read()`, or `IDLE` when nothing arrives within `ms`. */
export async function readWithin<T>(reader: ReadableStreamDefaultReader<T>, ms: number): Promise<ReadableStreamReadResult<T> | typeof IDLE> {
  let timer: ReturnType<typeof setTimeout> | null = null;
  const idle = new Promise<typeof IDLE>((resolve) => (timer = setTimeout(() => resolve(IDLE), ms)));
  try {
    return await Promise.race([reader.read(), idle]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * A product's pass-through body with an idle bound between chunks, as nginx's `proxy_read_timeout` bounds
 * every read: a download that keeps moving is never cut, one that stalls for `ms` is cut (its status was
 * already sent, so the client sees a broken body, never a hang) and the upstream read is cancelled.
 */
export function idleBounded(body: ReadableStream<Uint8Array>, ms: number, onStall: () => void): ReadableStream<Uint8Array> {
  const reader = body.getReader();
  return new ReadableStream<Uint8Array>(
    {
      async pull(controller) {
        const r = await readWithin(reader, ms);
        if (r === IDLE) {
          onStall();
          reader.cancel().catch(() => undefined);
          return controller.error(new Error(`upstream body idle for ${ms} ms`));
        }
        if (r.done) return controller.close();
        controller.enqueue(r.value);
      },
      cancel(reason) {
        return reader.cancel(reason);
      },
    },
    { highWaterMark: 0 },
  );
}
