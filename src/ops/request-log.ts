/**
 * One structured JSON log line per request (Workers Logs indexes JSON fields). The record is filled in as
 * the request moves through the pipeline and written once at the end. It never holds a credential: only
 * ids (key id, user id), never keys, tokens or cookies, and the path without its query string.
 *
 * Every field has one owner, and only the owner's method writes it, so no stage can overwrite another's
 * finding: routing names the route, authentication the principal, the rate limiter its own fields, the
 * proxy the upstream's answer, the error handler the refusal (`code` and its precise `reason`), and `emit`
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
  upstreamMs?: number;
}

export type Decision = "admitted" | "refused" | "answered";

export interface RequestLogFields extends RouteFields, PrincipalFields, RateLimitFields, UpstreamFields {
  requestId: string;
  method: string;
  path: string;
  decision?: Decision;
  /** Set by the error handler only: the refusal's code and its precise cause (never sent to the client). */
  code?: string;
  reason?: string;
  /** Set by `emit`. */
  status?: number;
  totalMs?: number;
}

export class RequestLog {
  readonly #fields: RequestLogFields;
  readonly #started = Date.now();

  constructor(requestId: string, method: string, path: string) {
    this.#fields = { requestId, method, path };
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

  rateLimit(values: RateLimitFields): void {
    Object.assign(this.#fields, values);
  }

  upstream(values: UpstreamFields): void {
    Object.assign(this.#fields, values);
  }

  /** The stage that admitted the request, or answered it itself (health, a preflight, the limits view). */
  decide(decision: "admitted" | "answered"): void {
    this.#fields.decision = decision;
  }

  /** The error handler's record of the answer's error: the code sent and the precise cause, if known. */
  refuse(code: string, reason: string | undefined): void {
    this.#fields.code = code;
    if (reason !== undefined) this.#fields.reason = reason;
    else delete this.#fields.reason;
  }

  /**
   * Completes the record and writes the request's one line. A request that was never admitted nor
   * answered by the gateway itself was refused.
   */
  emit(status: number): Readonly<RequestLogFields> {
    this.#fields.status = status;
    this.#fields.totalMs = Date.now() - this.#started;
    this.#fields.decision ??= this.#fields.code !== undefined ? "refused" : "answered";
    console.log(JSON.stringify({ level: status >= 500 ? "error" : "info", msg: "request", ...this.#fields }));
    return this.#fields;
  }
}

/** A log line for an exception, tied to its request. Only the error's name, message and stack. */
export function logException(requestId: string, err: unknown): void {
  const e = err instanceof Error ? { name: err.name, message: err.message, stack: err.stack } : { message: String(err) };
  console.error(JSON.stringify({ level: "error", msg: "exception", requestId, error: e }));
}
