/**
 * `app.onError` and `app.notFound`: every failure, expected or not, leaves as the envelope. Unexpected
 * errors are logged whole with the request id and answered with a generic INTERNAL_ERROR. Hono's own
 * `HTTPException` (thrown by Hono middleware: validators, body limits, auth helpers) is a client error
 * with its status, not a crash.
 */
import type { ErrorHandler, NotFoundHandler } from "hono";
import { HTTPException } from "hono/http-exception";
import type { AppEnv } from "./env";
import { codeForStatus, GatewayError, toGatewayError } from "./errors";
import { refuse } from "./ops/refuse";
import { logException } from "./ops/request-log";

/** Headers of an HTTPException's prepared response that the client needs to act on; nothing else is copied. */
const KEPT_HEADERS = ["www-authenticate", "retry-after", "allow"];

/**
 * A Hono `HTTPException` as the gateway's error: a status in the code table keeps its status and takes
 * that code; any other 4xx keeps its status as VALIDATION_ERROR; anything else is INTERNAL_ERROR. The
 * exception's message goes to the log, never to the client.
 */
function fromHttpException(err: HTTPException): GatewayError {
  const status = err.status;
  const reason = `HTTPException ${status}: ${err.message}`;
  const headers: Record<string, string> = {};
  for (const name of KEPT_HEADERS) {
    const value = err.res?.headers.get(name);
    if (value !== null && value !== undefined) headers[name] = value;
  }
  const code = codeForStatus(status);
  if (code !== undefined && status < 500) return new GatewayError(code, { headers, logReason: reason });
  if (status >= 400 && status < 500) return new GatewayError("VALIDATION_ERROR", { status, headers, logReason: reason });
  if (code !== undefined && code !== "INTERNAL_ERROR") return new GatewayError(code, { headers, logReason: reason });
  return new GatewayError("INTERNAL_ERROR", { logReason: reason });
}

export const onError: ErrorHandler<AppEnv> = (err, c) => {
  if (err instanceof HTTPException) {
    const mapped = fromHttpException(err);
    if (mapped.code === "INTERNAL_ERROR") logException(c.get("requestId") ?? "unknown", err);
    return refuse(c, mapped);
  }
  if (!(err instanceof GatewayError)) logException(c.get("requestId") ?? "unknown", err);
  return refuse(c, toGatewayError(err));
};

export const notFound: NotFoundHandler<AppEnv> = (c) => refuse(c, new GatewayError("NOT_FOUND", { details: null }));
