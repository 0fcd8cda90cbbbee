/**
 * Reading the client's request body with bounds: an idle bound on every read (a client that stalls
 * mid-upload), a byte cap, and the lingering drain of a refused body (read and discarded, bounded in bytes
 * and time, before the 413 is sent, as nginx's lingering close does, so the client is not reset while it
 * is still sending).
 */
import { GatewayError } from "../errors";
import { IdleWatchdog } from "./idle-watchdog";
import { chunkReader, IDLE, readWithin, type ChunkReader } from "./timed-read";

export interface UploadBounds {
  /** Longest wait for the client's next chunk. */
  uploadIdleMs: number;
  lingerBytes: number;
  lingerMs: number;
}

/** 400: the client stopped sending its body (the contract has no 408; the request is incomplete input). */
function uploadStalled(idleMs: number): GatewayError {
  return new GatewayError("VALIDATION_ERROR", {
    details: { fields: { body: `No body data for ${idleMs} ms; the upload is incomplete` }, idleTimeoutMs: idleMs },
    logReason: `client upload idle for ${idleMs} ms`,
  });
}

export function tooLarge(limit: number): GatewayError {
  return new GatewayError("PAYLOAD_TOO_LARGE", { details: { limit } });
}

/**
 * Reads and discards the rest of a refused body: until its end, `lingerBytes`, or `lingerMs`, whichever
 * comes first; then cancels whatever is left. Never throws: the refusal is the answer either way.
 */
export async function linger(reader: ChunkReader, bounds: UploadBounds): Promise<void> {
  const until = Date.now() + bounds.lingerMs;
  let discarded = 0;
  try {
    while (discarded <= bounds.lingerBytes) {
      const left = until - Date.now();
      if (left <= 0) break;
      const r = await readWithin(reader, Math.min(left, bounds.uploadIdleMs));
      if (r === IDLE || r.done) break;
      discarded += r.value.byteLength;
    }
  } catch {
    // The client went away: nothing left to drain.
  }
  reader.cancel().catch(() => undefined);
}

/** The client's next chunk, waited for at most `idleMs`; past it the read is cancelled and the upload refused (400). */
export async function readClientChunk(reader: ChunkReader, idleMs: number): Promise<ReadableStreamReadResult<Uint8Array>> {
  const r = await readWithin(reader, idleMs);
  if (r === IDLE) {
    reader.cancel().catch(() => undefined);
    throw uploadStalled(idleMs);
  }
  return r;
}

/** Reads a stream whole; past `limit` bytes it lingers, then refuses with 413. A stall is 400. */
export async function readCapped(stream: ReadableStream<Uint8Array>, limit: number, bounds: UploadBounds): Promise<Uint8Array> {
  const reader = chunkReader(stream);
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const r = await readClientChunk(reader, bounds.uploadIdleMs);
    if (r.done) break;
    size += r.value.byteLength;
    if (size > limit) {
      await linger(reader, bounds);
      throw tooLarge(limit);
    }
    chunks.push(r.value);
  }
  const out = new Uint8Array(size);
  let offset = 0;
  for (const c of chunks) {
    out.set(c, offset);
    offset += c.byteLength;
  }
  return out;
}

export interface WatchEvents {
  /** The client's last byte has been read: the product's own timeout may start. */
  onEnd: () => void;
  /** The upload failed (stall, cap, product not reading): abort the upstream fetch. */
  onFail: () => void;
}

export interface WatchedUpload {
  stream: ReadableStream<Uint8Array>;
  /** Why the upload failed, once any lingering drain is done; null while it has not. */
  failure: () => Promise<GatewayError | null>;
  /** The product has answered: its not reading the rest is no longer a failure. */
  answered: () => void;
  /**
   * Called before the gateway answers. When the client is still sending and the fetch no longer carries
   * its body (the product refused early, the upstream failed, or `final` says the answer ends the exchange),
   * stops forwarding and drains the rest (bounded), so the client is not reset mid-upload.
   */
  settle: (final: boolean) => Promise<void>;
  /** Bytes read from the client so far. */
  bytes: () => number;
}

/** What the upload is framed by upstream: the client's declared length, or (chunked) a cap on what it may send. */
export type UploadFraming = { length: number } | { cap: number };

/**
 * The reason an upload's stream is errored with, once the product has answered (before, the upstream call is
 * aborted instead: `stopForwarding`). `retryable` marks it as the disconnection it is (the gateway cut the
 * body); workerd still logs an errored stream it pumps as an uncaught exception, which is why it is the rarer case.
 */
function cutBody(message: string): Error {
  return Object.assign(new Error(message), { retryable: true });
}

/**
 * Streams the client's body to the upstream fetch as a pull stream the runtime reads natively: each time the
 * fetch wants data it calls `pull`, which reads the client's next chunk and hands it over (`enqueue`); the
 * runtime copies the chunk out when the fetch takes it and asks again only once it has written it upstream.
 * So the loop holds one chunk at a time, the body is copied twice on its way (into the read buffer, and out
 * of it when the fetch takes it; a native stream in between cost a third copy, its write's), and the stream
 * declares the client's length (`expectedLength`: the runtime sends it as the upstream `Content-Length`).
 * Chunked bodies are counted against `cap` (past it the body lingers, then 413). One watchdog bounds both
 * waits: the client's next chunk by `uploadIdleMs` (400) and the product's taking of the last one (the next
 * pull) by `productIdleMs` (504). Failing never closes the stream, so the product sees no clean end: before it
 * answered the upstream call is aborted, after it the stream is errored; so does a body that ends short of (or
 * runs past) its declared length.
 */
export function watchUpload(body: ReadableStream<Uint8Array>, framing: UploadFraming, bounds: UploadBounds & { productIdleMs: number }, events: WatchEvents): WatchedUpload {
  // One buffer for every read: the runtime copies a chunk out before it pulls (and so reads) again.
  const reader = chunkReader(body, { reuse: true });
  const length = "length" in framing ? framing.length : null;
  const cap = "cap" in framing ? framing.cap : null;
  let controller: ReadableStreamDefaultController<Uint8Array> | null = null;
  let seen = 0;
  let failed: Promise<GatewayError> | null = null;
  let answered = false;
  let ended = false;
  let detached = false; // the fetch dropped its body, the client's broke, or the gateway stopped forwarding
  // Stops forwarding; the product must see no clean end. Before it answered, aborting the upstream call
  // (`onFail`) ends the body with the connection, and the stream is left as it is: erroring a JavaScript stream
  // the runtime pumps is logged as the request's uncaught exception, one per refused upload. After it
  // answered, the call carries the answer on, so the stream itself is errored (never closed).
  const stopForwarding = (reason: () => Error) => {
    watchdog.stop();
    if (!answered) {
      events.onFail();
      return;
    }
    try {
      controller?.error(reason());
    } catch {
      // Already closed or errored.
    }
  };
  const fail = (err: Promise<GatewayError> | GatewayError) => {
    failed ??= Promise.resolve(err);
    stopForwarding(() => cutBody("request body refused"));
  };
  const broken = (reason: () => Error) => {
    detached = true;
    stopForwarding(reason);
  };
  const watchdog = new IdleWatchdog({ client: bounds.uploadIdleMs, product: bounds.productIdleMs }, (phase) => {
    if (phase === "product") {
      fail(new GatewayError("GATEWAY_TIMEOUT", { details: { timeoutMs: bounds.productIdleMs }, logReason: `upstream took no request body data for ${bounds.productIdleMs} ms` }));
      return;
    }
    reader.cancel().catch(() => undefined);
    fail(uploadStalled(bounds.uploadIdleMs));
  });
  const stopped = () => failed !== null || detached;
  // The read in progress: a byte stream allows one pending read, so a drain takes this one over.
  let pending: Promise<ReadableStreamReadResult<Uint8Array>> | null = null;
  const pull = async (c: ReadableStreamDefaultController<Uint8Array>): Promise<void> => {
    if (stopped()) return;
    watchdog.wait("client");
    const read = (pending = reader.read());
    let r: ReadableStreamReadResult<Uint8Array>;
    try {
      r = await read;
    } catch (err) {
      // The client's body broke: the stream must not end cleanly; the reader stays open for `settle`.
      if (!stopped()) broken(() => (err instanceof Error ? err : cutBody(String(err))));
      return;
    }
    if (pending === read) pending = null;
    if (stopped()) return;
    if (r.done) {
      if (length !== null && seen !== length) return broken(() => cutBody(`request body ended after ${seen} of ${length} bytes`));
      ended = true;
      watchdog.stop();
      events.onEnd();
      return c.close();
    }
    seen += r.value.byteLength;
    if (cap !== null && seen > cap) return fail(linger(reader, bounds).then(() => tooLarge(cap)));
    if (length !== null && seen > length) return broken(() => cutBody(`request body ran past its ${length} bytes`));
    if (answered) watchdog.pause();
    else watchdog.wait("product");
    c.enqueue(r.value);
  };
  const stream = new ReadableStream<Uint8Array>(
    {
      start: (c) => {
        controller = c;
      },
      pull,
      // The fetch dropped the body: stop watching; `settle` drains the client.
      cancel: () => {
        if (stopped()) return;
        detached = true;
        watchdog.stop();
      },
      ...(length === null ? {} : { expectedLength: length }),
    },
    { highWaterMark: 0 },
  );
  return {
    stream,
    failure: () => failed ?? Promise.resolve(null),
    bytes: () => seen,
    answered: () => {
      answered = true;
    },
    settle: async (final) => {
      if (ended || failed !== null || !(final || detached)) return;
      detached = true;
      stopForwarding(() => cutBody("request body refused"));
      const drain: ChunkReader = {
        read: () => {
          const next = pending ?? reader.read();
          pending = null;
          return next;
        },
        cancel: (reason) => reader.cancel(reason),
      };
      await linger(drain, bounds);
    },
  };
}
