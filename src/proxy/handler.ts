/** The last step of the pipeline: check the body, forward, and normalize what comes back. */
import type { Handler } from "hono";
import type { AppEnv } from "../env";
import { identityHeaders } from "../auth/principal";
import { prepareBody } from "./body";
import { forward } from "./forward";
import { upstreamRequestHeaders } from "./headers";
import { normalizeUpstream } from "./normalize";

export function proxyToProduct(): Handler<AppEnv> {
  return async function proxyToProduct(c) {
    const resolved = c.get("resolved");
    const config = c.get("config");
    const requestId = c.get("requestId");
    const log = c.get("log");
    const controller = new AbortController();
    const body = await prepareBody(c.req.raw, resolved.route, config.limits, () => controller.abort());
    const headers = upstreamRequestHeaders(c.req.raw.headers, {
      requestId,
      identity: identityHeaders(c.get("principal")),
      sessionCookie: config.auth.sessionCookie,
      url: c.get("url"),
    });
    const { response, upstreamMs } = await forward(resolved.product, c.env as unknown as Record<string, unknown>, {
      method: c.req.method,
      path: resolved.path,
      search: resolved.search,
      headers,
      body,
      clientSignal: c.req.raw.signal,
      controller,
    });
    log.set({ upstreamStatus: response.status, upstreamMs });
    return normalizeUpstream(response);
  };
}
