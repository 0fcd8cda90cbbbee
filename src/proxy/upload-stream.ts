/**
 * Reading the client's request body with bounds: an idle bound on every read (a client that stalls
 * mid-upload), a byte cap, and the lingering drain of a refused body (read and discarded, bounded in bytes
 * and time, before the 413 is sent, as nginx's lingering close does, so the client is not reset while it
 * is still sending).
 */
import { GatewayError } from "../errors";
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

/** Reads a stream whole; past `limit` bytes it lingers, then refuses with 413. A stall is 400. */
export async function readCapped(stream: ReadableStream<Uint8Array>, limit: number, bounds: UploadBounds): Promise<Uint8Array> {
  const reader = chunkReader(stream);
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const r = await readWithin(reader, bounds.uploadIdleMs);
    if (r === IDLE) {
      reader.cancel().catch(() => undefined);
      throw uploadStalled(bounds.uploadIdleMs);
    }
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

/**
 * Streams the client's body to the upstream fetch, one chunk per pull (high-water mark 0, so a pull means
 * the fetch wants more). Waits on the client are bounded by `idleMs` (400 on expiry); waits on the product
 * to take the next chunk by `productIdleMs` (504); past `limit` bytes (if any) the body lingers, then 413.
 */
export function watchUpload(body: ReadableStream<Uint8Array>, limit: number | null, bounds: UploadBounds & { productIdleMs: number }, events: WatchEvents): WatchedUpload {
  const reader = chunkReader(body);
  let seen = 0;
  let failed: Promise<GatewayError> | null = null;
  let productTimer: ReturnType<typeof setTimeout> | null = null;
  let answered = false;
  let ended = false;
  let detached = false; // the fetch cancelled its body, or the gateway stopped forwarding
  let stream: ReadableStreamDefaultController<Uint8Array> | undefined;
  const refused = () => new Error("request body refused");
  const fail = (err: Promise<GatewayError> | GatewayError) => {
    clearTimeout(productTimer);
    failed ??= Promise.resolve(err);
    events.onFail();
    // Erroring (never closing) the stream guarantees the product sees no clean end.
    stream?.error(refused());
  };
  const productTimeout = () =>
    new GatewayError("GATEWAY_TIMEOUT", { details: { timeoutMs: bounds.productIdleMs }, logReason: `upstream took no request body data for ${bounds.productIdleMs} ms` });
  const readable = new ReadableStream<Uint8Array>(
    {
      start(controller) {
        stream = controller;
      },
      async pull(controller) {
        clearTimeout(productTimer);
        if (detached) return controller.error(refused());
        const r = await readWithin(reader, bounds.uploadIdleMs);
        if (r === IDLE) {
          reader.cancel().catch(() => undefined);
          return fail(uploadStalled(bounds.uploadIdleMs));
        }
        if (r.done) {
          ended = true;
          events.onEnd();
          return controller.close();
        }
        seen += r.value.byteLength;
        if (limit !== null && seen > limit) return fail(linger(reader, bounds).then(() => tooLarge(limit)));
        controller.enqueue(r.value);
        if (!answered) productTimer = setTimeout(() => fail(productTimeout()), bounds.productIdleMs);
      },
      cancel() {
        // The client's reader stays open: `settle` drains what the client is still sending.
        clearTimeout(productTimer);
        detached = true;
      },
    },
    { highWaterMark: 0 },
  );
  return {
    stream: readable,
    failure: () => failed ?? Promise.resolve(null),
    bytes: () => seen,
    answered: () => {
      answered = true;
      clearTimeout(productTimer);
    },
    settle: async (final) => {
      if (ended || failed !== null || !(final || detached)) return;
      detached = true;
      clearTimeout(productTimer);
      await linger(reader, bounds);
    },
  };
}
