/**
 * One structured JSON log line per request (Workers Logs indexes JSON fields). The record is filled in as
 * the request moves through the pipeline and written once at the end. It never holds a credential: only
 * ids (key id, user id), never keys, tokens or cookies, and the path without its query string.
 *
 * Every field has one owner, and only the owner's method writes it, so no stage can overwrite another's
 * finding: routing names the route, authentication the principal, the rate limiter its own fields, the
 * proxy the upstream's answer, the refusal (`code` and its precise `reason`: refuse.ts), and `emit`
 * the status and duration. A stage that answers or admits a request says so with `decide`.
 */

/** Set by routing (src/routing/resolve.ts). */
export interface RouteFields {
  product?: string;
  route?: string;
  permission?: string;
}

/** Set by authentication (src/auth/authenticate.ts, src/admin/admin-auth.ts). */
export interface PrincipalFields {
  tenant?: string;
  principalType?: string;
  principalId?: string;
}

/** Where an integration key's record came from: this isolate's cache, KV, or the key directory (KV missed). */
export type KeySource = "isolate" | "kv" | "directory";

/** Set by authentication (src/auth/authenticate.ts), on success and on refusal alike. */
export interface AuthFields {
  /** Time spent authenticating (ms; on Workers the clock moves only across I/O, so this is the wait on KV, the directory, the JWKS). */
  authMs?: number;
  keySource?: KeySource;
}

/** Set by the rate limiter (src/ratelimit/middleware.ts). */
export interface RateLimitFields {
  rateLimitRemaining?: number;
  /** Admitted while the limiter was unreachable (fail mode open or reads-open); `rateLimitError` says why. */
  rateLimitFailOpen?: boolean;
  rateLimitError?: string;
  /** Refused from this isolate's cache of the limiter's last refusal (the deny cache), without asking it. */
  rateLimitCached?: boolean;
  /** Shadow policies that would have refused the lease this request was admitted from. */
  shadowViolated?: string[];
  /** When the rate limiter admitted the request (ms since the epoch, the isolate's clock). */
  admittedAt?: number;
  /** The request waited for a lease exchange with the tenant's Durable Object (false: admitted from permits in hand). */
  leaseWait?: boolean;
}

/** Set by the proxy (src/proxy/handler.ts). */
export interface UpstreamFields {
  upstreamStatus?: number;
  /** From the upstream call to its response headers, or to its failure (a 504's line has it too). */
  upstreamMs?: number;
  /** Request body bytes forwarded (0: none). */
  requestBytes?: number;
}

/** Set by the proxy when the product's error answer was passed or rewritten: the code the client got. */
export interface ProductErrorFields {
  code: string;
  reason: string;
}

export type Decision = "admitted" | "refused" | "answered";

export interface RequestLogFields extends RouteFields, PrincipalFields, AuthFields, Omit<RateLimitFields, "leaseWait">, UpstreamFields {
  requestId: string;
  method: string;
  path: string;
  /** The Cloudflare location that served the request (`request.cf.colo`), when the runtime gives one. */
  colo?: string;
  decision?: Decision;
  /** The error code the client got, with its precise cause (never sent to the client): set by the refusal (refuse.ts), or by the proxy for a product's error. */
  code?: string;
  reason?: string;
  /** Time (ms) the request waited for the rate limiter: 0 when admitted or refused from what the isolate held. */
  leaseWait?: number;
  /** Set by `emit`. */
  status?: number;
  totalMs?: number;
  /** The response body's length when known as the line is written (its Content-Length). */
  responseBytes?: number;
}

/** The written line: the record with its level and message first (Workers Logs shows them first). */
interface LogLine extends RequestLogFields {
  level: "info" | "error";
  msg: "request";
}

export class RequestLog {
  /** The line itself, filled in place: written with one JSON.stringify, no copy. */
  readonly #fields: LogLine;
  readonly #started = Date.now();
  /** The rate limiter's own word on whether it waited, and how long its step took until it handed on or refused. */
  #waited: boolean | undefined;
  #admissionMs: number | undefined;

  constructor(requestId: string, method: string, path: string, colo?: string) {
    this.#fields = { level: "info", msg: "request", requestId, method, path };
    if (colo !== undefined) this.#fields.colo = colo;
  }

  /** The record so far, read-only. */
  get fields(): Readonly<RequestLogFields> {
    return this.#fields;
  }

  route(values: RouteFields): void {
    Object.assign(this.#fields, values);
  }

  principal(values: PrincipalFields): void {
    Object.assign(this.#fields, values);
  }

  auth(values: AuthFields): void {
    Object.assign(this.#fields, values);
  }

  rateLimit(values: RateLimitFields): void {
    const { leaseWait, ...rest } = values;
    if (leaseWait !== undefined) this.#waited = leaseWait;
    Object.assign(this.#fields, rest);
  }

  /** How long the rate-limit step took before it admitted or refused (src/ops/timed-step.ts). */
  admission(ms: number): void {
    this.#admissionMs = ms;
  }

  upstream(values: UpstreamFields): void {
    Object.assign(this.#fields, values);
  }

  /** The proxy's record of a product error answer (passed on, or rewritten by the gateway): the code the client got. */
  productError(values: ProductErrorFields): void {
    this.#fields.code = values.code;
    this.#fields.reason = values.reason;
  }

  /** The stage that admitted the request, or answered it itself (health, a preflight, the limits view). */
  decide(decision: "admitted" | "answered"): void {
    this.#fields.decision = decision;
  }

  /** The refusal's record of the answer's error (refuse.ts): the code sent and the precise cause, if known. */
  refuse(code: string, reason: string | undefined): void {
    this.#fields.code = code;
    if (reason !== undefined) this.#fields.reason = reason;
    else delete this.#fields.reason;
  }

  /**
   * Completes the record and writes the request's one line. A request that was never admitted nor
   * answered by the gateway itself was refused.
   */
  emit(status: number, responseBytes?: number): Readonly<RequestLogFields> {
    const f = this.#fields;
    f.status = status;
    f.totalMs = Date.now() - this.#started;
    f.decision ??= f.code !== undefined ? "refused" : "answered";
    if (this.#admissionMs !== undefined) f.leaseWait = this.#waited === false ? 0 : this.#admissionMs;
    if (responseBytes !== undefined) f.responseBytes = responseBytes;
    if (status >= 500) f.level = "error";
    console.log(JSON.stringify(f));
    return f;
  }
}

/** A log line for an exception, tied to its request. Only the error's name, message and stack. */
export function logException(requestId: string, err: unknown): void {
  const e = err instanceof Error ? { name: err.name, message: err.message, stack: err.stack } : { message: String(err) };
  console.error(JSON.stringify({ level: "error", msg: "exception", requestId, error: e }));
}
