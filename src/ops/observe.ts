/**
 * The first step of every request, and the last to finish: what makes a request observable. Before the rest
 * of the chain it gives the request its id (src/http/request-id.ts decides which; the admin API's are always
 * fresh), parses its URL once for every later step, and opens its log record; after it, whatever response
 * was produced (success, envelope, preflight), it writes the log line, the usage data point from the
 * completed record, and stamps `X-Request-Id` on the response.
 *
 * One step, not four: the four share one shape (set up before, finish after) and one order, and as one they
 * cost one async frame and one dispatch instead of four (a small gain: about 2 k instructions a request,
 * callgrind, issue 21). The parts stay in their files: the record in request-log.ts, the data point in usage.ts.
 */
import type { Context, MiddlewareHandler } from "hono";
import type { AppEnv } from "../env";
import { contentLength } from "../http/content-length";
import { requestHeader } from "../http/header-names";
import { REQUEST_ID_HEADER, resolveRequestId } from "../http/request-id";
import { RequestLog } from "./request-log";
import { recordUsage } from "./usage";

/** `request.cf.colo`: the Cloudflare location that took the request (absent where the runtime gives no `cf`: workerd serve, tests). */
function coloOf(req: Request): string | undefined {
  const colo = (req.cf as { colo?: unknown } | undefined)?.colo;
  return typeof colo === "string" ? colo : undefined;
}

/** `X-Request-Id` on the response (`headers`, its headers), whichever step produced it. */
function stampRequestId(c: Context<AppEnv>, headers: Headers, id: string): void {
  try {
    headers.set(REQUEST_ID_HEADER, id);
  } catch {
    // Headers of a response taken from fetch() are immutable: re-wrap once to add the id.
    c.res = new Response(c.res.body, c.res);
    c.res.headers.set(REQUEST_ID_HEADER, id);
  }
}

export function observe(): MiddlewareHandler<AppEnv> {
  return async function observe(c, next) {
    const req = c.req.raw;
    // Admin requests' ids are stored in the audit trail, so they are always the gateway's own: an auditor
    // must be able to trust that an id in the trail names one request. (`c.req.path` is the path as routed.)
    const id = c.req.path.startsWith("/__gateway/admin") ? crypto.randomUUID() : resolveRequestId(requestHeader(req.headers, "x-request-id"));
    c.set("requestId", id);
    const url = new URL(req.url);
    c.set("url", url);
    const log = new RequestLog(id, req.method, url.pathname, coloOf(req));
    c.set("log", log);
    await next();
    const res = c.res;
    const headers = res.headers; // read once: each read of a Response's property crosses into the runtime
    // The body's length when known (a streamed body of unknown length has none).
    const fields = log.emit(res.status, contentLength(headers.get("content-length")));
    recordUsage(c.env.USAGE, fields);
    stampRequestId(c, headers, id);
  };
}
