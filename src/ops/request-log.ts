/**
 * One structured JSON log line per request (Workers Logs indexes JSON fields). The record is filled in as
 * the request moves through the pipeline and written once at the end. It never holds a credential: only
 * ids (key id, user id), never keys, tokens or cookies, and the path without its query string.
 */

export interface RequestLogFields {
  requestId: string;
  method: string;
  path: string;
  product?: string;
  route?: string;
  permission?: string;
  tenant?: string;
  principalType?: string;
  principalId?: string;
  decision?: "admitted" | "refused" | "answered";
  status?: number;
  code?: string;
  reason?: string;
  upstreamStatus?: number;
  upstreamMs?: number;
  totalMs?: number;
  rateLimitRemaining?: number;
  rateLimitFailOpen?: boolean;
  /** Shadow policies that would have refused the lease this request was admitted from. */
  shadowViolated?: string[];
  /** When the rate limiter admitted the request (ms since the epoch, the isolate's clock). */
  admittedAt?: number;
  /** The request waited for a lease exchange with the tenant's Durable Object (false: admitted from permits in hand). */
  leaseWait?: boolean;
}

export class RequestLog {
  readonly fields: RequestLogFields;
  private readonly started = Date.now();

  constructor(requestId: string, method: string, path: string) {
    this.fields = { requestId, method, path };
  }

  set(values: Partial<RequestLogFields>): void {
    Object.assign(this.fields, values);
  }

  /**
   * Completes the record and writes the request's one line. A request that was never admitted nor
   * answered by the gateway itself was refused.
   */
  emit(status: number): RequestLogFields {
    this.fields.status = status;
    this.fields.totalMs = Date.now() - this.started;
    this.fields.decision ??= this.fields.code !== undefined ? "refused" : "answered";
    console.log(JSON.stringify({ level: status >= 500 ? "error" : "info", msg: "request", ...this.fields }));
    return this.fields;
  }
}

/** A log line for an exception, tied to its request. Only the error's name, message and stack. */
export function logException(requestId: string, err: unknown): void {
  const e = err instanceof Error ? { name: err.name, message: err.message, stack: err.stack } : { message: String(err) };
  console.error(JSON.stringify({ level: "error", msg: "exception", requestId, error: e }));
}
