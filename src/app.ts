/**
 * The gateway's request pipeline. Order matters: every step may refuse the request, and nothing reaches a
 * product backend unless every step before the proxy said yes.
 */
import { Hono } from "hono";
import { adminRoutes } from "./admin/routes";
import { authenticate } from "./auth/authenticate";
import { authorizeRoute } from "./authz/middleware";
import type { AppEnv } from "./env";
import { withConfig } from "./config/with-config";
import { notFound, onError } from "./error-handler";
import { health } from "./ops/health";
import { observe } from "./ops/observe";
import { timedAdmission } from "./ops/timed-step";
import { proxyToProduct } from "./proxy/handler";
import { limitsView } from "./ratelimit/limits-view";
import { rateLimit } from "./ratelimit/middleware";
import { resolveRoute } from "./routing/resolve";
import { cookieCsrf } from "./security/cookie-csrf";
import { cors } from "./security/cors";

/** Reserved for the gateway's own endpoints; product base paths cannot start with `_`. */
const RESERVED_PREFIX = "/__gateway";

export function buildApp(): Hono<AppEnv> {
  const app = new Hono<AppEnv>();
  app.onError(onError); // every thrown error leaves as the envelope
  app.notFound(notFound); // so does anything no route claims
  app.use(observe()); // first: the request id (on every response, errors included), the URL parsed once, the log record every step fills in (one line at the end), one usage data point
  app.get(`${RESERVED_PREFIX}/health`, health()); // before config: it must answer even when config is broken
  app.use(withConfig()); // configuration validated once; broken config is a 500, not a crash
  app.use(cors()); // preflights answered here, unauthenticated, never forwarded
  app.use(cookieCsrf()); // a cross-origin request with the session cookie from an origin not allowed: 403
  app.route(`${RESERVED_PREFIX}/admin`, adminRoutes()); // admin API: its own secret, no tenant quota
  app.get(`${RESERVED_PREFIX}/limits`, authenticate(), limitsView()); // a caller's own limits: any credential, no quota
  app.all(`${RESERVED_PREFIX}/*`, notFound); // nothing else under the reserved prefix reaches a product
  app.all(
    "*",
    resolveRoute(), // product + route from the one safe path that will be forwarded; 404/405 here
    authenticate(), // exactly one credential -> principal; 401 here
    authorizeRoute(), // product access and permission; 403 here, before any quota is spent
    timedAdmission(rateLimit()), // from permits leased to this isolate; the tenant's Durable Object only when none is in hand; 429 here
    proxyToProduct(), // body checks, then stream to the product and normalize its errors
  );
  return app;
}
