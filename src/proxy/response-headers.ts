/**
 * Product response headers as a client receives them (docs/proxying.md, "What a client receives from a product").
 * On a pass-through the product's headers flow, minus what the gateway owns (CORS, its session cookie, the
 * identity namespace) and what reveals the hosts behind it; `Location` is mapped onto the public path, and
 * so is every cookie the product sets. On
 * an error only a short allow-list survives. Pure functions over Headers.
 */
import { isHostPrefixed, setCookieTouches, withCookiePath } from "../http/cookies";
import { keepEndToEnd } from "./headers";
import { publicCookiePath, rewriteLink, rewriteLocation, rewriteRefresh, type LocationContext } from "./location";
import { foldHeaderName, isIdentityNamespace } from "../http/header-names";
import { retryAfterSeconds } from "./retry-after";
import { memoizedByName } from "../shared/bounded-map";

export interface ResponseHeaderContext {
  /** The gateway's session cookie: a product can neither set nor clear it. */
  sessionCookie: string;
  location: LocationContext;
}

/** Software, version and internal host names: they help only someone mapping the infrastructure. */
const HOST_REVEALING = new Set(["server", "x-powered-by", "x-aspnet-version", "x-aspnetmvc-version", "via", "x-served-by", "x-server", "x-host", "alt-svc"]);
/** `Access-Control-*` is the gateway's (src/security/cors.ts); the rest are common internal-routing prefixes. */
const GATEWAY_OR_INTERNAL_PREFIXES = ["access-control-", "x-backend-", "x-upstream-", "x-debug-", "x-internal-"];

/** Headers that carry URL references: mapped onto the gateway's public path (src/proxy/location.ts). */
const URL_HEADERS: Array<[string, (value: string, ctx: LocationContext) => string | null]> = [
  ["location", rewriteLocation],
  ["content-location", rewriteLocation],
  ["refresh", rewriteRefresh],
  ["link", rewriteLink],
];

/** Policies for the whole gateway origin, not one product's: clearing its cookies, turning HSTS off. */
const ORIGIN_WIDE = new Set(["clear-site-data", "strict-transport-security"]);

const isWithheld = memoizedByName((name) => {
  const folded = foldHeaderName(name);
  return HOST_REVEALING.has(folded) || ORIGIN_WIDE.has(folded) || isIdentityNamespace(folded) || GATEWAY_OR_INTERNAL_PREFIXES.some((p) => folded.startsWith(p));
});

/**
 * The headers a client receives on a product's 1xx-3xx answer, made from `out`, in place: a copy of the
 * product's headers the gateway owns (the client response's own, src/proxy/normalize.ts). Returns `out`.
 */
export function passThroughHeaders(out: Headers, ctx: ResponseHeaderContext): Headers {
  // Read once: the removals, the cookies and the URL headers below look only at names the response has.
  const names = [...out.keys()];
  keepEndToEnd(out, names, isWithheld);
  // The product's cookies, scoped to its public path (nginx's proxy_cookie_path): never the session cookie,
  // never one for the whole origin (`__Host-`), never one another product on the origin receives.
  if (names.includes("set-cookie")) {
    const setCookies = out.getSetCookie();
    out.delete("set-cookie");
    for (const line of setCookies) {
      if (!setCookieTouches(line, ctx.sessionCookie) && !isHostPrefixed(line)) out.append("set-cookie", withCookiePath(line, (path) => publicCookiePath(path, ctx.location)));
    }
  }
  for (const [name, rewrite] of URL_HEADERS) {
    const value = names.includes(name) ? out.get(name) : null;
    if (value === null) continue;
    const rewritten = rewrite(value, ctx.location);
    if (rewritten === null) out.delete(name);
    else out.set(name, rewritten);
  }
  return out;
}

/**
 * The product headers an error answer keeps, on top of the gateway's own: `Retry-After` (as whole seconds,
 * the contract's form) and, on a 405, `Allow` when it is a plain method list. Everything else a product sends
 * on an error (debug hosts, cookies, caching) is dropped.
 */
export function errorHeaders(status: number, upstream: Headers, nowMs: number): Record<string, string> {
  const out: Record<string, string> = {};
  const retryAfter = retryAfterSeconds(upstream.get("retry-after"), nowMs);
  if (retryAfter !== undefined) out["Retry-After"] = String(retryAfter);
  const allow = upstream.get("allow");
  if (status === 405 && allow !== null && /^[A-Z]+(?:, ?[A-Z]+)*$/.test(allow)) out.Allow = allow;
  return out;
}
