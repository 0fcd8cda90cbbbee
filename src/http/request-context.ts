/**
 * The outermost middleware: gives the request its id and its log record, and on the way out stamps
 * `X-Request-Id` on whatever response was produced (success, envelope, preflight), writes the log line
 * and the usage data point.
 */
import type { MiddlewareHandler } from "hono";
import type { AppEnv } from "../env";
import { RequestLog } from "../ops/request-log";
import { recordUsage } from "../ops/usage";
import { REQUEST_ID_HEADER, resolveRequestId } from "./request-id";

export function requestContext(): MiddlewareHandler<AppEnv> {
  return async function requestContext(c, next) {
    const requestId = resolveRequestId(c.req.header(REQUEST_ID_HEADER));
    c.set("requestId", requestId);
    const url = new URL(c.req.url);
    c.set("url", url);
    const log = new RequestLog(requestId, c.req.method, url.pathname);
    c.set("log", log);
    await next();
    try {
      c.res.headers.set(REQUEST_ID_HEADER, requestId);
    } catch {
      // Headers of a response taken from fetch() are immutable: re-wrap once to add the id.
      c.res = new Response(c.res.body, c.res);
      c.res.headers.set(REQUEST_ID_HEADER, requestId);
    }
    recordUsage(c.env.USAGE, log.emit(c.res.status));
  };
}
