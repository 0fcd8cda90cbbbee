/** The last step of the pipeline: check the body, forward, and normalize what comes back. */
import type { Handler } from "hono";
import type { AppEnv } from "../env";
import { identityHeaders } from "../auth/principal";
import { prepareBody } from "./body";
import { forward, upstreamBasePath, upstreamOrigin, type ForwardResult } from "./forward";
import { upstreamRequestHeaders } from "./headers";
import { normalizeUpstream } from "./normalize";

export function proxyToProduct(): Handler<AppEnv> {
  return async function proxyToProduct(c) {
    const { product, route, path, search } = c.get("resolved");
    const config = c.get("config");
    const requestId = c.get("requestId");
    const log = c.get("log");
    const controller = new AbortController();
    const body = await prepareBody(c.req.raw, route, { ...config.limits, productIdleMs: product.timeoutMs }, () => controller.abort());
    const headers = upstreamRequestHeaders(c.req.raw.headers, {
      requestId,
      identity: identityHeaders(c.get("principal")),
      sessionCookie: config.auth.sessionCookie,
      url: c.get("url"),
    });
    const started = Date.now();
    let forwarded: ForwardResult;
    try {
      forwarded = await forward(product, c.env as unknown as Record<string, unknown>, {
        method: c.req.method,
        path,
        search,
        headers,
        body,
        clientSignal: c.req.raw.signal,
        controller,
      });
    } catch (err) {
      // A 504 or 502 line says how long the product had.
      log.upstream({ upstreamMs: Date.now() - started, requestBytes: body.bytes() });
      throw err;
    }
    const { response, upstreamMs, url, deadline } = forwarded;
    log.upstream({ upstreamStatus: response.status, upstreamMs, requestBytes: body.bytes() });
    const location = { upstreamUrl: url, upstreamOrigin: upstreamOrigin(product), upstreamBasePath: upstreamBasePath(product), publicOrigin: c.get("url").origin, productBasePath: product.basePath };
    try {
      const onBodyStall = () => console.warn(JSON.stringify({ level: "warn", msg: "upstream body stalled", requestId, idleMs: product.timeoutMs }));
      const onErrorAnswer = (code: string, how: "passed" | "rewritten") => log.productError({ code, reason: `product answered ${response.status}, ${how === "passed" ? "its envelope passed on" : `rewritten as ${code}`}` });
      const answer = await normalizeUpstream(response, { nowMs: Date.now(), deadline, headers: { sessionCookie: config.auth.sessionCookie, location }, onBodyStall, onErrorAnswer });
      await body.settle(answer.status >= 400);
      return answer;
    } catch (err) {
      await body.settle(true);
      throw err;
    } finally {
      // A pass-through body streams on after this: the deadline bounds only the gateway's own reads.
      deadline.clear();
    }
  };
}
