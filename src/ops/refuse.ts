/**
 * A refusal as the response: the refusal's code and precise cause on the request's log record, and the
 * envelope. The error handler answers a thrown GatewayError with it; the steps whose refusal is a usual
 * outcome under load (no credential: 401; over the limit: 429) return it instead of throwing, since a throw
 * unwinds each awaiting async step in turn (about 7 k instructions a refusal through three, callgrind, issue
 * 21). Either way the client gets the same envelope and headers, and the log line the same fields.
 */
import type { Context } from "hono";
import type { AppEnv } from "../env";
import { envelopeResponse, type GatewayError } from "../errors";

export function refuse(c: Context<AppEnv>, err: GatewayError): Response {
  c.get("log")?.refuse(err.code, err.logReason);
  return envelopeResponse(err);
}
