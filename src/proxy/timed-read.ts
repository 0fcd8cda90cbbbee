/** One bounded wait on a stream the gateway does not control (a client's upload, a product's body). */

export const IDLE = Symbol("idle");

/** What the gateway needs of a body's reader: the next chunk, and a way to stop. */
export interface ChunkReader {
  read(): Promise<ReadableStreamReadResult<Uint8Array>>;
  cancel(reason?: unknown): Promise<void>;
}

/** The most one read takes from a byte stream. */
const READ_BYTES = 128 * 1024;
/** The most one read of a `reuse` reader takes: its one buffer is allocated (and zeroed) once per body, not per read. */
const REUSED_READ_BYTES = 256 * 1024;

/**
 * A reader that takes everything that has arrived, up to 128 KiB, in one read. workerd's default reader of
 * a request or response body hands out 4 KiB chunks, so a 1 MiB upload would cost about 260 trips through
 * the gateway's stream and its timers; a BYOB read of the same body returns what is buffered (about 10
 * reads for 1 MiB on loopback). A read that filled less than half its buffer is copied out, so a client
 * trickling bytes cannot make the gateway hold a 128 KiB buffer per byte. A stream that is not a byte
 * stream (one built in JavaScript) is read the default way.
 *
 * `reuse`: for a reader that is done with each chunk before it asks for the next (the upload stream: the
 * runtime copies a chunk out when the fetch takes it, and only then pulls the next), every read fills the same
 * buffer, so a 1 MiB upload allocates and zeroes one buffer instead of about ten, and nothing is copied
 * out. That buffer is 256 KiB: allocated once per body, it can be larger than a one-off read's, and it takes
 * the 1 MiB bench upload in about 6 reads on loopback instead of 11 (each read is a trip through the
 * runtime's stream machinery and the gateway's). The chunk a read returns is overwritten by the next read.
 */
export function chunkReader(stream: ReadableStream<Uint8Array>, { reuse = false } = {}): ChunkReader {
  let byob: ReadableStreamBYOBReader;
  try {
    byob = stream.getReader({ mode: "byob" });
  } catch {
    return stream.getReader();
  }
  let buffer: ArrayBuffer | null = null;
  return {
    async read() {
      const r = (await byob.read(new Uint8Array(buffer ?? new ArrayBuffer(reuse ? REUSED_READ_BYTES : READ_BYTES)))) as ReadableStreamReadResult<Uint8Array>;
      if (reuse) {
        // The read transferred the buffer: the next one fills it where the returned view now holds it.
        if (r.value !== undefined) buffer = r.value.buffer as ArrayBuffer;
        return r;
      }
      if (r.done || r.value.byteLength * 2 >= READ_BYTES) return r;
      return { done: false, value: r.value.slice() };
    },
    cancel: (reason) => byob.cancel(reason),
  };
}

/** `reader.read()`, or `IDLE` when nothing arrives within `ms`. */
export async function readWithin(reader: ChunkReader, ms: number): Promise<ReadableStreamReadResult<Uint8Array> | typeof IDLE> {
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
 *
 * The cut is `controller.error`, which workerd also reports as the request's uncaught exception (an errored
 * stream it pumps while the request's context is alive). Closing instead would hand the client a truncated
 * body that looks complete. The one silent cut found is aborting the upstream fetch while the runtime pumps its
 * body natively, which needs a body no JavaScript sits in; the bound needs to see when the client asks for the
 * next chunk, and a native `tee()` (the client's branch pumped natively, this one read for the bound) cannot:
 * its reads wait on the client's pace too, so a client that pauses reading would be cut as a stall.
 * docs/operations.md ("Logs") tells operators the line is expected.
 */
export function idleBounded(body: ReadableStream<Uint8Array>, ms: number, onStall: () => void): ReadableStream<Uint8Array> {
  const reader = chunkReader(body);
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
