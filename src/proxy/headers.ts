/**
 * Header hygiene at both boundaries. Pure functions over Headers.
 *
 * Upstream: hop-by-hop headers (RFC 9110 §7.6.1) and any header the Connection header names are
 * connection-specific, never end to end; credentials and the reserved identity namespace are removed so a
 * product backend can trust `X-OneStack-*` as set by the gateway alone; `Host` and `X-Forwarded-Host` are
 * dropped so the client cannot steer virtual-host routing behind the gateway.
 */

const HOP_BY_HOP = ["connection", "keep-alive", "proxy-connection", "proxy-authenticate", "proxy-authorization", "te", "trailer", "transfer-encoding", "upgrade"];

/** Headers in this namespace reach a product only when the gateway set them. */
export const IDENTITY_PREFIX = "x-onestack-";

/** Headers that ask a framework to treat the request as another method; see `assertNoMethodOverride`. */
export const METHOD_OVERRIDE_HEADERS = ["x-http-method-override", "x-method-override", "x-http-method"];

const NEVER_FORWARDED = ["host", "x-forwarded-host", "x-integration-key", "authorization", "proxy-authorization", "content-length", ...METHOD_OVERRIDE_HEADERS];

/** Removes hop-by-hop headers and every header named in `Connection`, in place. */
export function stripHopByHop(headers: Headers): Headers {
  const named = (headers.get("connection") ?? "")
    .split(",")
    .map((h) => h.trim().toLowerCase())
    .filter((h) => h !== "");
  for (const name of [...HOP_BY_HOP, ...named]) headers.delete(name);
  return headers;
}

/** Removes one cookie by name from a Cookie header value; other cookies pass untouched. */
export function withoutCookie(cookieHeader: string, name: string): string {
  return cookieHeader
    .split(";")
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
  const headers = stripHopByHop(new Headers(incoming));
  for (const name of NEVER_FORWARDED) headers.delete(name);
  for (const name of [...headers.keys()]) if (name.startsWith(IDENTITY_PREFIX)) headers.delete(name);
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
  return stripHopByHop(new Headers(upstream));
}
