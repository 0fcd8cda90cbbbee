/** The last step of the pipeline: check the body, forward, and normalize what comes back. */
import type { Handler } from "hono";
import type { AppEnv } from "../env";
import { identityHeaders } from "../auth/principal";
import { prepareBody } from "./body";
import { forward, upstreamBasePath, upstreamOrigin } from "./forward";
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
    const { response, upstreamMs, url, deadline } = await forward(product, c.env as unknown as Record<string, unknown>, {
      method: c.req.method,
      path,
      search,
      headers,
      body,
      clientSignal: c.req.raw.signal,
      controller,
    });
    log.upstream({ upstreamStatus: response.status, upstreamMs });
    const location = { upstreamUrl: url, upstreamOrigin: upstreamOrigin(product), upstreamBasePath: upstreamBasePath(product), publicOrigin: c.get("url").origin, productBasePath: product.basePath };
    try {
      const onBodyStall = () => console.warn(JSON.stringify({ level: "warn", msg: "upstream body stalled", requestId, idleMs: product.timeoutMs }));
      const answer = await normalizeUpstream(response, { nowMs: Date.now(), deadline, headers: { sessionCookie: config.auth.sessionCookie, location }, onBodyStall });
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
