/**
 * The request id (src/http/request-id.ts decides which; the admin API's are always fresh): set for every later step and the log line, and
 * stamped as `X-Request-Id` on whatever response was produced (success, envelope, preflight).
 */
import type { MiddlewareHandler } from "hono";
import type { AppEnv } from "../env";
import { REQUEST_ID_HEADER, resolveRequestId } from "../http/request-id";

export function requestId(): MiddlewareHandler<AppEnv> {
  return async function requestId(c, next) {
    // Admin requests' ids are stored in the audit trail, so they are always the gateway's own: an auditor
    // must be able to trust that an id in the trail names one request. (`c.req.path` is the path as routed.)
    const id = c.req.path.startsWith("/__gateway/admin") ? crypto.randomUUID() : resolveRequestId(c.req.header(REQUEST_ID_HEADER));
    c.set("requestId", id);
    await next();
    try {
      c.res.headers.set(REQUEST_ID_HEADER, id);
    } catch {
      // Headers of a response taken from fetch() are immutable: re-wrap once to add the id.
      c.res = new Response(c.res.body, c.res);
      c.res.headers.set(REQUEST_ID_HEADER, id);
    }
  };
}
