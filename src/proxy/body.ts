/**
 * Request bodies at the edge. JSON bodies (small by nature) are read whole up to a cap, parsed, and the
 * exact bytes the client sent are forwarded. Any other body streams through untouched, counted against a
 * cap so an upload without Content-Length is still refused with 413 rather than trusted.
 */
import { GatewayError, validationError } from "../errors";
import type { Route } from "../routing/route-table";

const BODY_METHODS = new Set(["POST", "PUT", "PATCH", "DELETE"]);
const WRITE_WITH_BODY = new Set(["POST", "PUT", "PATCH"]);

export interface BodyLimits {
  maxBodyBytes: number;
  maxJsonBytes: number;
}

/** A forwardable body and what the forwarder reads when the fetch fails: the overflow error, if any. */
export interface PreparedBody {
  body: ReadableStream | Uint8Array | null;
  overflow: () => GatewayError | null;
}

/**
 * Called when a streamed body passes the cap. It must abort the upstream fetch: merely erroring the body
 * stream lets the runtime finish the chunked message cleanly, and the product would take a truncated upload
 * for a whole one.
 */
export type OnOverflow = () => void;

/** `application/json` or any `application/*+json` (RFC 6839), parameters ignored. */
export function isJsonMediaType(contentType: string | null): boolean {
  if (contentType === null) return false;
  const media = contentType.split(";", 1)[0]?.trim().toLowerCase() ?? "";
  return media === "application/json" || (media.startsWith("application/") && media.endsWith("+json"));
}

function tooLarge(limit: number): GatewayError {
  return new GatewayError("PAYLOAD_TOO_LARGE", { details: { limit } });
}

function declaredLength(req: Request): number | null {
  const raw = req.headers.get("content-length");
  if (raw === null) return null;
  if (!/^\d{1,15}$/.test(raw.trim())) throw validationError({ "Content-Length": "Must be a non-negative integer" });
  return Number(raw.trim());
}

/** Reads a stream whole, refusing with 413 as soon as it passes `limit` bytes. */
async function readCapped(stream: ReadableStream<Uint8Array>, limit: number): Promise<Uint8Array> {
  const reader = stream.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > limit) {
      await reader.cancel();
      throw tooLarge(limit);
    }
    chunks.push(value);
  }
  const out = new Uint8Array(size);
  let offset = 0;
  for (const c of chunks) {
    out.set(c, offset);
    offset += c.byteLength;
  }
  return out;
}

function assertJson(bytes: Uint8Array): void {
  try {
    JSON.parse(new TextDecoder("utf-8", { fatal: true, ignoreBOM: false }).decode(bytes));
  } catch {
    throw new GatewayError("INVALID_JSON", { details: null, logReason: "request body failed JSON.parse or UTF-8 decoding" });
  }
}

/**
 * Passes bytes through, erroring the stream once more than `limit` have gone by. A pull-based wrapper, so
 * `onOverflow` (which aborts the upstream fetch) runs before the stream errors. The runtime still logs the
 * abandoned stream's error as an uncaught exception (README, "What the runtime handles").
 */
function countingStream(body: ReadableStream<Uint8Array>, limit: number, onOverflow: () => void): ReadableStream<Uint8Array> {
  const reader = body.getReader();
  let seen = 0;
  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      const { done, value } = await reader.read();
      if (done) return controller.close();
      seen += value.byteLength;
      if (seen > limit) {
        onOverflow();
        await reader.cancel();
        // The fetch is already aborted; erroring (never closing) the stream guarantees no clean end is sent.
        return controller.error(new Error("request body over the cap"));
      }
      controller.enqueue(value);
    },
    cancel(reason) {
      return reader.cancel(reason);
    },
  });
}

/**
 * Checks a request body against the route's body policy and the size caps, and returns what to forward.
 * GET/HEAD bodies are not forwarded (the Fetch API cannot send them).
 */
export async function prepareBody(req: Request, route: Route, limits: BodyLimits, onOverflow: OnOverflow): Promise<PreparedBody> {
  let overflow: GatewayError | null = null;
  const result = (body: PreparedBody["body"]): PreparedBody => ({ body, overflow: () => overflow });
  if (!BODY_METHODS.has(req.method)) return result(null);
  const length = declaredLength(req);
  if (req.body === null || length === 0) return result(null);
  const contentType = req.headers.get("content-type");
  const json = isJsonMediaType(contentType);
  if (route.body === "json" && WRITE_WITH_BODY.has(req.method) && !json) {
    throw validationError(
      { "Content-Type": contentType === null ? "Content-Type is required: application/json" : "Must be application/json" },
      `body sent as ${contentType ?? "no content type"} to a JSON-only route`,
    );
  }
  if (json) {
    if (length !== null && length > limits.maxJsonBytes) throw tooLarge(limits.maxJsonBytes);
    const bytes = await readCapped(req.body, limits.maxJsonBytes);
    if (bytes.byteLength === 0) return result(null);
    assertJson(bytes);
    return result(bytes);
  }
  if (length !== null) {
    if (length > limits.maxBodyBytes) throw tooLarge(limits.maxBodyBytes);
    // FixedLengthStream keeps the client's Content-Length framing upstream (and errors on a short body).
    return result(req.body.pipeThrough(new FixedLengthStream(length)));
  }
  return result(
    countingStream(req.body, limits.maxBodyBytes, () => {
      overflow = tooLarge(limits.maxBodyBytes);
      onOverflow();
    }),
  );
}
