/**
 * `app.onError` and `app.notFound`: every failure, expected or not, leaves as the envelope. Unexpected
 * errors are logged whole with the request id and answered with a generic INTERNAL_ERROR.
 */
import type { Context, ErrorHandler, NotFoundHandler } from "hono";
import type { AppEnv } from "../env";
import { envelopeResponse, GatewayError, toGatewayError } from "../errors";
import { logException } from "../ops/request-log";

function respond(c: Context<AppEnv>, err: GatewayError): Response {
  c.get("log")?.set({ code: err.code, ...(err.logReason !== undefined ? { reason: err.logReason } : {}) });
  return envelopeResponse(err);
}

export const onError: ErrorHandler<AppEnv> = (err, c) => {
  if (!(err instanceof GatewayError)) logException(c.get("requestId") ?? "unknown", err);
  return respond(c, toGatewayError(err));
};

export const notFound: NotFoundHandler<AppEnv> = (c) => respond(c, new GatewayError("NOT_FOUND", { details: null }));
