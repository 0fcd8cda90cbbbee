/**
 * Upstream answers as the client sees them. Success and 3xx pass through as they are (redirects are
 * never followed); a 4xx that already is a valid envelope passes through byte for byte; every other error
 * becomes the envelope. A 5xx never carries upstream text (hostnames, traces) to the client. Only a
 * bounded prefix of an error body is ever read.
 */
import { envelopeResponse, ERROR_STATUS, GatewayError, isErrorCode, type Details, type ErrorCode } from "../errors";
import { isRecord } from "../config/validate";
import { downstreamResponseHeaders } from "./headers";

export const MAX_ERROR_BODY_BYTES = 64 * 1024;

const CODE_FOR_4XX: Record<number, ErrorCode> = {
  400: "VALIDATION_ERROR",
  401: "UNAUTHORIZED",
  403: "FORBIDDEN",
  404: "NOT_FOUND",
  405: "METHOD_NOT_ALLOWED",
  409: "CONFLICT",
  410: "NOT_FOUND",
  413: "PAYLOAD_TOO_LARGE",
  422: "VALIDATION_ERROR",
  429: "RATE_LIMIT_EXCEEDED",
};

/**
 * Reads at most `max` bytes; `complete` says whether that was the whole body. Cancels the rest. A body cut
 * off by the upstream (connection lost mid-body) is an incomplete read, not an exception: the answer is
 * still judged by its status.
 */
export async function readPrefix(body: ReadableStream<Uint8Array> | null, max: number): Promise<{ bytes: Uint8Array; complete: boolean }> {
  if (body === null) return { bytes: new Uint8Array(0), complete: true };
  const reader = body.getReader();
  const out = new Uint8Array(max);
  let size = 0;
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) return { bytes: out.subarray(0, size), complete: true };
      if (size + value.byteLength > max) {
        await reader.cancel();
        return { bytes: out.subarray(0, size), complete: false };
      }
      out.set(value, size);
      size += value.byteLength;
    }
  } catch {
    return { bytes: out.subarray(0, size), complete: false };
  }
}

function parseJson(bytes: Uint8Array): unknown {
  try {
    return JSON.parse(new TextDecoder("utf-8", { fatal: true, ignoreBOM: false }).decode(bytes));
  } catch {
    return undefined;
  }
}

/** The seed's shape, strict enough that the seed's client cannot trip on it. */
export function isValidEnvelope(value: unknown): boolean {
  if (!isRecord(value)) return false;
  if (typeof value.error !== "string" || typeof value.code !== "string" || !/^[A-Z][A-Z0-9_]{0,63}$/.test(value.code)) return false;
  if (value.details !== undefined && value.details !== null && !isRecord(value.details)) return false;
  if (value.code === "VALIDATION_ERROR") return isRecord(value.details) && isRecord(value.details.fields);
  return true;
}

/** A short, single-line, markup-free message is worth keeping from a 4xx; anything else is replaced. */
export function safeMessage(value: unknown): string | undefined {
  if (typeof value !== "string") return undefined;
  const m = value.trim();
  // eslint-disable-next-line no-control-regex
  if (m === "" || m.length > 200 || /[\x00-\x1f\x7f<>]/.test(m) || /\bat\s+\S+\s*\(/.test(m)) return undefined;
  return m;
}

/** `{ title: "is required" }` from an upstream `errors` or `fields` object with string values. */
function deriveFields(body: Record<string, unknown>): Record<string, string> {
  const source = isRecord(body.errors) ? body.errors : isRecord(body.fields) ? body.fields : isRecord(body.details) && isRecord(body.details.fields) ? body.details.fields : {};
  const fields: Record<string, string> = {};
  for (const [k, v] of Object.entries(source)) {
    const text = safeMessage(Array.isArray(v) ? v[0] : v);
    if (text !== undefined && k.length <= 100) fields[k] = text;
  }
  return fields;
}

function retryAfterSeconds(headers: Headers): number | undefined {
  const raw = headers.get("retry-after");
  return raw !== null && /^\d{1,9}$/.test(raw.trim()) ? Number(raw.trim()) : undefined;
}

function clientError(status: number, headers: Headers, parsed: unknown): GatewayError {
  const code = CODE_FOR_4XX[status] ?? "VALIDATION_ERROR";
  const body = isRecord(parsed) ? parsed : {};
  const message = safeMessage(body.error) ?? safeMessage(body.message);
  let details: Details | null = null;
  const extra: Record<string, string> = {};
  if (code === "VALIDATION_ERROR") details = { fields: deriveFields(body) };
  if (code === "RATE_LIMIT_EXCEEDED") {
    const retryAfter = retryAfterSeconds(headers) ?? 1;
    details = { retryAfter };
    extra["Retry-After"] = String(retryAfter);
  }
  return new GatewayError(code, { status, details, headers: extra, ...(message !== undefined ? { message } : {}) });
}

function serverError(status: number, headers: Headers, parsed: unknown): GatewayError {
  const details = { upstreamStatus: status };
  if (status === 503) {
    const retryAfter = retryAfterSeconds(headers);
    return new GatewayError("SERVICE_UNAVAILABLE", { details, headers: retryAfter === undefined ? {} : { "Retry-After": String(retryAfter) } });
  }
  if (status === 504) return new GatewayError("GATEWAY_TIMEOUT", { details });
  const code = isRecord(parsed) ? parsed.code : undefined;
  if (isErrorCode(code) && ERROR_STATUS[code] >= 500) return new GatewayError(code, { details });
  return new GatewayError("BAD_GATEWAY", { details });
}

/** The response the client sees for an upstream response. */
export async function normalizeUpstream(res: Response): Promise<Response> {
  if (res.status < 400) {
    return new Response(res.body, { status: res.status, statusText: res.statusText, headers: downstreamResponseHeaders(res.headers) });
  }
  const { bytes, complete } = await readPrefix(res.body, MAX_ERROR_BODY_BYTES);
  const parsed = complete ? parseJson(bytes) : undefined;
  if (res.status < 500) {
    if (isValidEnvelope(parsed)) {
      const headers = downstreamResponseHeaders(res.headers);
      headers.delete("content-length");
      return new Response(bytes, { status: res.status, headers });
    }
    return envelopeResponse(clientError(res.status, res.headers, parsed));
  }
  return envelopeResponse(serverError(res.status, res.headers, parsed));
}
