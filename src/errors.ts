/**
 * The One Stack error contract (shared/spec/errors.md): the closed set of codes, their statuses, the one
 * error type the gateway throws, and the one function that writes the envelope. Every non-2xx body the
 * gateway produces goes through `envelopeResponse`, so a client written against the spec can always read
 * `code` (and `details.fields` for VALIDATION_ERROR).
 */

/** Seed codes first, then the gateway's documented additions (docs/errors.md). */
export const ERROR_STATUS = {
  VALIDATION_ERROR: 400,
  INVALID_JSON: 400,
  UNAUTHORIZED: 401,
  TOKEN_EXPIRED: 401,
  FORBIDDEN: 403,
  PRODUCT_ACCESS_DENIED: 403,
  NOT_FOUND: 404,
  CONFLICT: 409,
  DUPLICATE_RESOURCE: 409,
  RATE_LIMIT_EXCEEDED: 429,
  INTERNAL_ERROR: 500,
  // Additions: cases the gateway must answer that the seed has no code for.
  METHOD_NOT_ALLOWED: 405,
  PAYLOAD_TOO_LARGE: 413,
  BAD_GATEWAY: 502,
  SERVICE_UNAVAILABLE: 503,
  GATEWAY_TIMEOUT: 504,
} as const;

export type ErrorCode = keyof typeof ERROR_STATUS;

/** The generic public message for each code; precise reasons go to the log, never to the client. */
const DEFAULT_MESSAGE: Record<ErrorCode, string> = {
  VALIDATION_ERROR: "Validation failed",
  INVALID_JSON: "Request body is not valid JSON",
  UNAUTHORIZED: "Authentication required",
  TOKEN_EXPIRED: "Token has expired",
  FORBIDDEN: "Access denied",
  PRODUCT_ACCESS_DENIED: "Access denied to this product",
  NOT_FOUND: "Not found",
  CONFLICT: "Resource version conflict",
  DUPLICATE_RESOURCE: "Resource already exists",
  RATE_LIMIT_EXCEEDED: "Rate limit exceeded",
  INTERNAL_ERROR: "An unexpected error occurred",
  METHOD_NOT_ALLOWED: "Method not allowed",
  PAYLOAD_TOO_LARGE: "Request body too large",
  BAD_GATEWAY: "The product service returned an invalid response",
  SERVICE_UNAVAILABLE: "Service temporarily unavailable",
  GATEWAY_TIMEOUT: "The product service did not respond in time",
};

export type Details = Record<string, unknown>;

export interface Envelope {
  error: string;
  code: string;
  details: Details | null;
}

/**
 * Each status in the code table, to the first code listed for it: VALIDATION_ERROR for 400, UNAUTHORIZED
 * (not TOKEN_EXPIRED) for 401, FORBIDDEN (not PRODUCT_ACCESS_DENIED) for 403, CONFLICT for 409.
 */
const CODE_BY_STATUS = new Map<number, ErrorCode>();
for (const [code, status] of Object.entries(ERROR_STATUS) as Array<[ErrorCode, number]>) {
  if (!CODE_BY_STATUS.has(status)) CODE_BY_STATUS.set(status, code);
}

/** The code table's code for a status, or undefined for a status the table does not name. */
export function codeForStatus(status: number): ErrorCode | undefined {
  return CODE_BY_STATUS.get(status);
}

export function isErrorCode(value: unknown): value is ErrorCode {
  return typeof value === "string" && Object.hasOwn(ERROR_STATUS, value);
}

/**
 * The gateway's one error type. Thrown anywhere in the pipeline and turned into the envelope by the app's
 * error handler (or returned as the envelope by a step whose refusal is a usual outcome: src/ops/refuse.ts).
 * `status` defaults to the code's status; `headers` carries e.g. `Retry-After` or `Allow`; `logReason` is the
 * precise cause, written to the log line and never to the client. Never changed once built, so one object
 * may answer many requests (the 401 without a credential, a repeated 429).
 */
export class GatewayError extends Error {
  readonly code: ErrorCode;
  readonly status: number;
  readonly details: Details | null;
  readonly headers: Record<string, string>;
  readonly logReason: string | undefined;
  /** The envelope's JSON, written on first use: an error answered more than once (a shared refusal) is serialized once. */
  #body: string | undefined;
  /** The envelope's header set (`envelopeHeaders`), found on first use: a shared refusal looks it up once. */
  #headerSet: Headers | undefined;

  constructor(
    code: ErrorCode,
    opts: {
      message?: string;
      details?: Details | null;
      status?: number;
      headers?: Record<string, string>;
      logReason?: string;
    } = {},
  ) {
    // A refusal is an expected outcome, not a bug: capturing a stack trace for each one was a measurable
    // share of the deny path's CPU (bench profile), and no GatewayError's stack is ever logged.
    const v8Error = Error as { stackTraceLimit?: number };
    const stackTraceLimit = v8Error.stackTraceLimit;
    v8Error.stackTraceLimit = 0;
    super(opts.message ?? DEFAULT_MESSAGE[code]);
    v8Error.stackTraceLimit = stackTraceLimit;
    this.name = "GatewayError";
    this.code = code;
    this.status = opts.status ?? ERROR_STATUS[code];
    this.details = opts.details ?? (code === "VALIDATION_ERROR" ? { fields: {} } : null);
    this.headers = opts.headers ?? {};
    this.logReason = opts.logReason;
  }

  /** The envelope of this error, as JSON: the only place a gateway error body is written. */
  get envelopeBody(): string {
    if (this.#body === undefined) {
      const body: Envelope = { error: this.message, code: this.code, details: this.details };
      this.#body = JSON.stringify(body);
    }
    return this.#body;
  }

  /** The envelope's headers with this error's own, as the Response constructor copies them (`envelopeHeaders`). */
  get envelopeHeaders(): Headers {
    this.#headerSet ??= envelopeHeaders(this.headers);
    return this.#headerSet;
  }
}

/** A VALIDATION_ERROR naming the offending fields, in the shape the seed's client reads. */
export function validationError(fields: Record<string, string>, logReason?: string): GatewayError {
  return new GatewayError("VALIDATION_ERROR", { details: { fields }, logReason });
}

/** The headers every envelope carries, before the error's own (Retry-After, Allow, RateLimit fields). */
const ENVELOPE_HEADERS: Readonly<Record<string, string>> = { "Content-Type": "application/json; charset=utf-8", "Cache-Control": "no-store" };

/**
 * Envelope header sets already built, by the error's own headers (names and values, one per line: neither
 * can hold a line break). The Response constructor copies a Headers object inside the runtime, where a plain
 * record is converted name by name, value by value on every call: the refusal paths' largest share
 * (callgrind, issue 21). The response's own headers are that copy, so a later step's `set` or `append`
 * (X-Request-Id, Vary) never reaches the set kept here. Cleared when full: each set is cheap to build again.
 */
const headerSets = new Map<string, Headers>();
const MAX_HEADER_SETS = 256;

function envelopeHeaders(own: Record<string, string>): Headers {
  let key = "";
  for (const name of Object.keys(own)) key += `${name}\n${own[name]}\n`;
  let headers = headerSets.get(key);
  if (headers === undefined) {
    if (headerSets.size >= MAX_HEADER_SETS) headerSets.clear();
    headers = new Headers({ ...ENVELOPE_HEADERS, ...own });
    headerSets.set(key, headers);
  }
  return headers;
}

/** The error as its envelope response (body: `envelopeBody`). */
export function envelopeResponse(err: GatewayError): Response {
  return new Response(err.envelopeBody, { status: err.status, headers: err.envelopeHeaders });
}

/** Any thrown value as a GatewayError: unknown errors become a generic INTERNAL_ERROR. */
export function toGatewayError(err: unknown): GatewayError {
  if (err instanceof GatewayError) return err;
  const reason = err instanceof Error ? `${err.name}: ${err.message}` : String(err);
  return new GatewayError("INTERNAL_ERROR", { logReason: reason });
}
