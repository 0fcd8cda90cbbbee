/**
 * Upstream answers as the client sees them. Success and 3xx pass through with the product's headers
 * filtered (redirects are never followed); a 4xx that already is a valid envelope whose code belongs to its
 * status passes through byte for byte; every other error becomes the envelope. A 5xx never carries upstream
 * text (hostnames, traces) to the client. Only a bounded prefix of an error body is ever read, and only
 * within the product's deadline.
 */
import { codeForStatus, envelopeResponse, ERROR_STATUS, GatewayError, isErrorCode, type Details, type ErrorCode } from "../errors";
import { contentLength } from "../http/content-length";
import { parseStrictJson } from "../http/json-body";
import { isRecord } from "../shared/records";
import type { Deadline } from "./deadline";
import { readPrefix } from "./read-prefix";
import { errorHeaders, passThroughHeaders, type ResponseHeaderContext } from "./response-headers";
import { retryAfterSeconds } from "./retry-after";
import { idleBounded } from "./timed-read";

export const MAX_ERROR_BODY_BYTES = 64 * 1024;

/**
 * A product 4xx without a fitting envelope gets the code table's code for its status, or one of these for
 * statuses the table does not name; any other 4xx keeps its status as VALIDATION_ERROR.
 */
const PRODUCT_4XX = new Map<number, ErrorCode>([
  [410, "NOT_FOUND"],
  // RFC 9110 §15.5.13: a failed If-Match is the version conflict the contract calls CONFLICT.
  [412, "CONFLICT"],
  [422, "VALIDATION_ERROR"],
]);

function codeFor4xx(status: number): ErrorCode | undefined {
  return PRODUCT_4XX.get(status) ?? codeForStatus(status);
}

/** Fetch's null-body statuses: a body that came with one is not part of the answer (RFC 9110 §6.4.1). */
const NULL_BODY = new Set([101, 103, 204, 205, 304]);

export interface NormalizeContext {
  nowMs: number;
  /** Bounds the read of an error body; expiry answers 504 GATEWAY_TIMEOUT. */
  deadline: Deadline;
  headers: ResponseHeaderContext;
  /** Called when a pass-through body stalls past the deadline's length (after its status was sent). */
  onBodyStall: () => void;
  /** Told the code of an error answer: the product's own envelope passed on, or the gateway's rewrite of its error. */
  onErrorAnswer?: (code: string, how: "passed" | "rewritten") => void;
}

/** The error body as JSON, or undefined when it is not strict UTF-8 JSON (then it is replaced, never passed). */
function parseJson(bytes: Uint8Array): unknown {
  try {
    return parseStrictJson(bytes);
  } catch {
    return undefined;
  }
}

/** The seed's shape, strict enough that the seed's client cannot trip on it. */
export function isValidEnvelope(value: unknown): value is { error: string; code: string; details?: unknown } {
  if (!isRecord(value)) return false;
  if (typeof value.error !== "string" || typeof value.code !== "string" || !/^[A-Z][A-Z0-9_]{0,63}$/.test(value.code)) return false;
  if (value.details !== undefined && value.details !== null && !isRecord(value.details)) return false;
  if (value.code === "VALIDATION_ERROR") return isRecord(value.details) && isRecord(value.details.fields);
  return true;
}

/**
 * Characters no message shown to a person needs: controls, line and paragraph separators, and the bidi
 * controls that make text display other than it reads (CVE-2021-42574's "Trojan Source"); plus markup.
 */
// eslint-disable-next-line no-control-regex
const UNSAFE_TEXT = /[\x00-\x1f\x7f-\x9f<>\u061c\u200e\u200f\u2028-\u202e\u2066-\u2069]/;

/** Text with none of those characters and nothing like a stack frame (`at handler (/srv/app.js:10:5)`). */
function isPlainText(text: string): boolean {
  return !UNSAFE_TEXT.test(text) && !/\bat\s+\S+\s*\(/.test(text);
}

/** A short, single-line, markup-free message is worth keeping from a 4xx; anything else is replaced. */
function safeMessage(value: unknown): string | undefined {
  if (typeof value !== "string") return undefined;
  const m = value.trim();
  if (m === "" || m.length > 200 || !isPlainText(m)) return undefined;
  return m;
}

/** A field name as products write them (`title`, `due_date`, `address.street`, `items[0].qty`, `/items/0`, `título`); nothing else is a key the client gets. */
const FIELD_NAME = /^[\p{L}\p{N}_.\-[\]/]{1,100}$/u;

/** True when every key and string in a product's `details` is plain text (at most 8 levels deep). */
function isPlainValue(value: unknown, depth = 0): boolean {
  if (typeof value === "string") return isPlainText(value);
  if (value === null || typeof value !== "object") return true;
  if (depth >= 8) return false;
  if (Array.isArray(value)) return value.every((v) => isPlainValue(v, depth + 1));
  return Object.entries(value).every(([k, v]) => isPlainText(k) && isPlainValue(v, depth + 1));
}

/** `{ title: "is required" }` from an upstream `errors` or `fields` object: the entries whose name and text pass the checks. */
function deriveFields(body: Record<string, unknown>): Record<string, string> {
  const source = isRecord(body.errors) ? body.errors : isRecord(body.fields) ? body.fields : isRecord(body.details) && isRecord(body.details.fields) ? body.details.fields : {};
  const fields: Array<[string, string]> = [];
  for (const [k, v] of Object.entries(source)) {
    const text = safeMessage(Array.isArray(v) ? v[0] : v);
    if (text !== undefined && FIELD_NAME.test(k)) fields.push([k, text]);
  }
  return Object.fromEntries(fields);
}

/**
 * A valid envelope is passed byte for byte only when its product text passes the checks any other product
 * text gets: its `error` is a safe message, every key and string of its `details` plain text, and for
 * VALIDATION_ERROR every field name and text passes. Otherwise it is rebuilt.
 */
function passesChecks(envelope: { error: string; code: string; details?: unknown }): boolean {
  if (safeMessage(envelope.error) !== envelope.error || !isPlainValue(envelope.details)) return false;
  if (envelope.code !== "VALIDATION_ERROR" || !isRecord(envelope.details) || !isRecord(envelope.details.fields)) return true;
  const fields = envelope.details.fields;
  return Object.keys(deriveFields({ fields })).length === Object.keys(fields).length;
}

/** A code in the table whose status is this one, or the code the gateway itself gives this status. */
function codeFits(status: number, code: unknown): code is ErrorCode {
  return isErrorCode(code) && (ERROR_STATUS[code] === status || codeFor4xx(status) === code);
}

function clientError(status: number, headers: Headers, parsed: unknown, nowMs: number): GatewayError {
  // A valid envelope rebuilt because of its text keeps its code (a 409's DUPLICATE_RESOURCE stays one).
  const code = isValidEnvelope(parsed) && codeFits(status, parsed.code) ? parsed.code : (codeFor4xx(status) ?? "VALIDATION_ERROR");
  const body = isRecord(parsed) ? parsed : {};
  const message = safeMessage(body.error) ?? safeMessage(body.message);
  let details: Details | null = null;
  const extra = errorHeaders(status, headers, nowMs);
  if (code === "VALIDATION_ERROR") details = { fields: deriveFields(body) };
  if (code === "RATE_LIMIT_EXCEEDED") {
    const retryAfter = retryAfterSeconds(headers.get("retry-after"), nowMs) ?? 1;
    details = { retryAfter };
    extra["Retry-After"] = String(retryAfter);
  }
  return new GatewayError(code, { status, details, headers: extra, ...(message !== undefined ? { message } : {}) });
}

function serverError(status: number, headers: Headers, parsed: unknown, nowMs: number): GatewayError {
  const details = { upstreamStatus: status };
  if (status === 503) return new GatewayError("SERVICE_UNAVAILABLE", { details, headers: errorHeaders(status, headers, nowMs) });
  if (status === 504) return new GatewayError("GATEWAY_TIMEOUT", { details });
  // As for a 4xx: a code is kept only on its own status (a 500 saying SERVICE_UNAVAILABLE is not a 503).
  const code = isRecord(parsed) ? parsed.code : undefined;
  if (isErrorCode(code) && ERROR_STATUS[code] === status) return new GatewayError(code, { details });
  return new GatewayError("BAD_GATEWAY", { details });
}

/** The gateway's envelope in place of a product's error answer. */
function rewritten(err: GatewayError, ctx: NormalizeContext): Response {
  ctx.onErrorAnswer?.(err.code, "rewritten");
  return envelopeResponse(err);
}

/** A product envelope passed byte for byte: the gateway's own error headers plus the allow-list. */
function passEnvelope(status: number, bytes: Uint8Array, upstream: Headers, nowMs: number): Response {
  const extra = errorHeaders(status, upstream, nowMs);
  // The contract promises Retry-After on every 429.
  if (status === 429) extra["Retry-After"] ??= "1";
  const headers = { "Content-Type": "application/json; charset=utf-8", "Cache-Control": "no-store", ...extra };
  return new Response(bytes, { status, headers });
}

/**
 * A 1xx-3xx body as the client receives it (a null-body status has none: normalizeUpstream); a body the product framed with
 * `Content-Length` streams natively, as the runtime pipes it (a JS stream on every answer cost about a
 * third of the key path's CPU in the bench profile); an unframed (chunked) one goes through an idle bound of
 * the product timeout between chunks, as nginx's `proxy_read_timeout` bounds every read.
 */
function passThroughBody(body: ReadableStream<Uint8Array>, upstream: Headers, ctx: NormalizeContext): ReadableStream {
  if (contentLength(upstream.get("content-length")) !== undefined) return body;
  return idleBounded(body, ctx.deadline.ms, ctx.onBodyStall);
}

/**
 * The response the client sees for an upstream response. The upstream's status text is never copied (it
 * may name hosts, and a tab in it throws in the Response constructor); a status the Response constructor
 * cannot carry (a final 1xx, anything past 599) is 502 BAD_GATEWAY.
 */
export async function normalizeUpstream(res: Response, ctx: NormalizeContext): Promise<Response> {
  // Read once each: every read of a Response's property crosses into the runtime.
  const status = res.status;
  const body = res.body;
  if (status < 200 || status > 599) {
    await body?.cancel();
    throw new GatewayError("BAD_GATEWAY", { details: { upstreamStatus: status }, logReason: `upstream status ${status} cannot be passed on` });
  }
  if (status < 400) {
    const upstream = res.headers;
    let passed: ReadableStream | null = null;
    if (body !== null && NULL_BODY.has(status)) await body.cancel();
    else if (body !== null) passed = passThroughBody(body, upstream, ctx);
    // The client's response takes its own copy of the product's headers, filtered in place: one copy, where a
    // filtered copy handed to the constructor was copied again (about 10 k instructions, callgrind, issue 21).
    const response = new Response(passed, { status, headers: upstream });
    const headers = passThroughHeaders(response.headers, ctx.headers);
    // RFC 9110 §8.6: no Content-Length on a 204 (nor on a 205, which has no content either).
    if (status === 204 || status === 205) headers.delete("content-length");
    return response;
  }
  const { bytes, complete, timedOut } = await readPrefix(res.body, MAX_ERROR_BODY_BYTES, ctx.deadline.signal);
  // The deadline's signal is the upstream call's: an upload that failed aborts it too, and that read ended
  // early is not a timeout (the answer is judged by its status, as for a body the product cut off).
  if (timedOut && ctx.deadline.expired) {
    throw new GatewayError("GATEWAY_TIMEOUT", {
      details: { timeoutMs: ctx.deadline.ms },
      logReason: `upstream ${res.status} body stalled past the ${ctx.deadline.ms} ms timeout`,
    });
  }
  const parsed = complete ? parseJson(bytes) : undefined;
  if (res.status < 500) {
    if (isValidEnvelope(parsed) && codeFits(res.status, parsed.code) && passesChecks(parsed)) {
      ctx.onErrorAnswer?.(parsed.code, "passed");
      return passEnvelope(res.status, bytes, res.headers, ctx.nowMs);
    }
    return rewritten(clientError(res.status, res.headers, parsed, ctx.nowMs), ctx);
  }
  return rewritten(serverError(res.status, res.headers, parsed, ctx.nowMs), ctx);
}
