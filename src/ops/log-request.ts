/**
 * The request's log record: opened before any other step, so refusals and errors are logged too, and
 * written as the request's one log line once the response is known.
 */
import type { MiddlewareHandler } from "hono";
import type { AppEnv } from "../env";
import { RequestLog } from "./request-log";

export function logRequest(): MiddlewareHandler<AppEnv> {
  return async function logRequest(c, next) {
    const log = new RequestLog(c.get("requestId"), c.req.method, c.get("url").pathname);
    c.set("log", log);
    await next();
    log.emit(c.res.status);
  };
}
