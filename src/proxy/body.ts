/**
 * Request bodies at the edge. JSON bodies (small by nature) are read whole up to a cap, checked, and the
 * exact bytes the client sent are forwarded. Any other body streams through untouched, counted against a
 * cap so an upload without Content-Length is still refused with 413 rather than trusted. Every wait on the
 * client is bounded (`UploadBounds.idleMs`), and a refused body is drained (bounded) before the 413.
 */
import { validationError, type GatewayError } from "../errors";
import type { Route } from "../config/routes";
import { contentLength } from "../http/content-length";
import { assertJson, assertUtf8Charset, isJsonMediaType } from "../http/json-body";
import { forwardsBody, sendsContent } from "../http/methods";
import { chunkReader } from "./timed-read";
import { linger, readCapped, tooLarge, watchUpload, type UploadBounds } from "./upload-stream";

export interface BodyLimits extends UploadBounds {
  maxBodyBytes: number;
  maxJsonBytes: number;
  /** The product's timeout, also the longest it may take to accept the next chunk of an upload. */
  productIdleMs: number;
}

/** A forwardable body, with the events the forwarder times the product by. */
export interface PreparedBody {
  body: ReadableStream | Uint8Array | null;
  /** Resolves once the client's last byte has been handed to the fetch (at once for a buffered body). */
  handedOver: Promise<void>;
  /** Why a streamed upload failed (after any lingering drain), or null. */
  failure: () => Promise<GatewayError | null>;
  /** The product answered. */
  answered: () => void;
  /** Before the gateway answers: drains what the client is still sending once nothing forwards it (`final`: the answer is an error). */
  settle: (final: boolean) => Promise<void>;
  /** Bytes of the client's body read so far (all of it once handed over); 0 for none. */
  bytes: () => number;
}

/** Called when a streamed upload fails: it must abort the upstream fetch, or the product could take a cut body for a whole one. */
export type OnUploadFail = () => void;

function declaredLength(req: Request): number | null {
  const raw = req.headers.get("content-length");
  if (raw === null) return null;
  const length = contentLength(raw.trim());
  if (length === undefined) throw validationError({ "Content-Length": "Must be a non-negative integer" });
  return length;
}

function buffered(body: Uint8Array | null): PreparedBody {
  const size = body?.byteLength ?? 0;
  return { body, handedOver: Promise.resolve(), failure: () => Promise.resolve(null), answered: () => undefined, settle: () => Promise.resolve(), bytes: () => size };
}

/**
 * Refuses a request on its headers alone (a declared length over the cap, a wrong content type): the body is
 * drained first (bounded), so the client hears the refusal instead of a reset mid-upload.
 */
async function drainThenThrow(req: Request, limits: BodyLimits, err: unknown): Promise<never> {
  if (req.body !== null) await linger(chunkReader(req.body), limits);
  throw err;
}

/** The route's body policy and, for JSON, the charset: checks on the headers alone. */
function checkContentType(req: Request, route: Route): void {
  const contentType = req.headers.get("content-type");
  const json = isJsonMediaType(contentType);
  if (route.body === "json" && sendsContent(req.method) && !json) {
    throw validationError(
      { "Content-Type": contentType === null ? "Content-Type is required: application/json" : "Must be application/json" },
      `body sent as ${contentType ?? "no content type"} to a JSON-only route`,
    );
  }
  if (json) assertUtf8Charset(contentType ?? "");
}

/**
 * Checks a request body against the route's body policy and the size caps, and returns what to forward.
 * GET/HEAD bodies are not forwarded (the Fetch API cannot send them).
 */
export async function prepareBody(req: Request, route: Route, limits: BodyLimits, onFail: OnUploadFail): Promise<PreparedBody> {
  if (!forwardsBody(req.method)) return buffered(null);
  let length: number | null;
  try {
    length = declaredLength(req);
    if (req.body !== null && length !== 0) checkContentType(req, route);
  } catch (err) {
    return drainThenThrow(req, limits, err);
  }
  if (req.body === null || length === 0) return buffered(null);
  if (isJsonMediaType(req.headers.get("content-type"))) {
    if (length !== null && length > limits.maxJsonBytes) return drainThenThrow(req, limits, tooLarge(limits.maxJsonBytes));
    const bytes = await readCapped(req.body, limits.maxJsonBytes, limits);
    if (bytes.byteLength === 0) return buffered(null);
    assertJson(bytes);
    return buffered(bytes);
  }
  if (length !== null && length > limits.maxBodyBytes) return drainThenThrow(req, limits, tooLarge(limits.maxBodyBytes));
  let ended = (): void => undefined;
  const handedOver = new Promise<void>((resolve) => (ended = resolve));
  // With a declared length the runtime's own framing enforces it; the cap applies only to chunked bodies.
  const upload = watchUpload(req.body, length === null ? { cap: limits.maxBodyBytes } : { length }, limits, { onEnd: () => ended(), onFail });
  return { body: upload.stream, handedOver, failure: upload.failure, answered: upload.answered, settle: upload.settle, bytes: upload.bytes };
}
