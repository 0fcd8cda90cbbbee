/**
 * Header hygiene at both boundaries. Pure functions over Headers.
 *
 * Upstream: hop-by-hop headers (RFC 9110 §7.6.1) and any header the Connection header names are
 * connection-specific, never end to end; credentials and the reserved identity namespace are removed so a
 * product backend can trust `X-OneStack-*` as set by the gateway alone; `Host` and `X-Forwarded-Host` are
 * dropped so the client cannot steer virtual-host routing behind the gateway.
 */

const HOP_BY_HOP = new Set(["connection", "keep-alive", "proxy-connection", "proxy-authenticate", "proxy-authorization", "te", "trailer", "transfer-encoding", "upgrade"]);

/** Headers in this namespace reach a product only when the gateway set them. */
export const IDENTITY_PREFIX = "x-onestack-";

/** Headers that ask a framework to treat the request as another method; see `assertNoMethodOverride`. */
export const METHOD_OVERRIDE_HEADERS = ["x-http-method-override", "x-method-override", "x-http-method"];

const NEVER_FORWARDED = new Set(["host", "x-forwarded-host", "x-integration-key", "authorization", "content-length", ...METHOD_OVERRIDE_HEADERS]);

/** The header names listed in `Connection`, lowercased. */
function connectionNamed(headers: Headers): Set<string> {
  const value = headers.get("connection");
  return value === null ? new Set() : new Set(value.split(",").map((h) => h.trim().toLowerCase()));
}

/**
 * A copy without hop-by-hop headers, those named in `Connection`, and those `drop` rejects: one pass over
 * the source, on the hot path of every request.
 */
function copyEndToEnd(source: Headers, drop: (name: string) => boolean): Headers {
  const named = connectionNamed(source);
  const out = new Headers();
  for (const [name, value] of source) {
    if (!HOP_BY_HOP.has(name) && !named.has(name) && !drop(name)) out.append(name, value);
  }
  return out;
}

/**
 * Removes one cookie by name from a Cookie header value; other cookies pass untouched. Cookie headers sent
 * twice reach the Worker joined with ", ", so a comma before `name=` separates cookies too.
 */
export function withoutCookie(cookieHeader: string, name: string): string {
  return cookieHeader
    .split(/;|,(?=\s*[^\s=;,]+=)/)
    .map((c) => c.trim())
    .filter((c) => c !== "" && c.split("=", 1)[0]?.trim() !== name)
    .join("; ");
}

export interface UpstreamHeaderOptions {
  requestId: string;
  /** Identity headers to set, e.g. `{ "X-OneStack-Tenant-Id": "t_1" }`; every client-sent `X-OneStack-*` is removed first. */
  identity: Record<string, string>;
  /** Name of the session cookie, removed from `Cookie`. */
  sessionCookie?: string | undefined;
}

/** The headers a product backend receives: the client's, minus what the gateway strips, plus what it sets. */
export function upstreamRequestHeaders(incoming: Headers, opts: UpstreamHeaderOptions): Headers {
  const headers = copyEndToEnd(incoming, (name) => NEVER_FORWARDED.has(name) || name.startsWith(IDENTITY_PREFIX));
  const cookie = headers.get("cookie");
  if (cookie !== null && opts.sessionCookie !== undefined) {
    const rest = withoutCookie(cookie, opts.sessionCookie);
    if (rest === "") headers.delete("cookie");
    else headers.set("cookie", rest);
  }
  for (const [name, value] of Object.entries(opts.identity)) headers.set(name, value);
  headers.set("x-request-id", opts.requestId);
  return headers;
}

/** The headers a client receives from an upstream response: hop-by-hop removed. */
export function downstreamResponseHeaders(upstream: Headers): Headers {
  return copyEndToEnd(upstream, () => false);
}
