/**
 * The request's log record: opened before any other step, so refusals and errors are logged too, and
 * written as the request's one log line once the response is known.
 */
import type { MiddlewareHandler } from "hono";
import type { AppEnv } from "../env";
import { RequestLog } from "./request-log";

/** `request.cf.colo`: the Cloudflare location that took the request (absent where the runtime gives no `cf`: workerd serve, tests). */
function coloOf(req: Request): string | undefined {
  const colo = (req.cf as { colo?: unknown } | undefined)?.colo;
  return typeof colo === "string" ? colo : undefined;
}

/** The response's Content-Length, when it has one (a streamed body of unknown length has none). */
function bodyLength(res: Response): number | undefined {
  const raw = res.headers.get("content-length");
  return raw === null || !/^\d{1,15}$/.test(raw) ? undefined : Number(raw);
}

export function logRequest(): MiddlewareHandler<AppEnv> {
  return async function logRequest(c, next) {
    const log = new RequestLog(c.get("requestId"), c.req.method, c.get("url").pathname, coloOf(c.req.raw));
    c.set("log", log);
    await next();
    log.emit(c.res.status, bodyLength(c.res));
  };
}
