/**
 * Header names as CGI-style servers read them. CGI, WSGI and Rack read `_` in a header name as `-` (both
 * become `_` in the environment), so `X-OneStack_Tenant-Id` is the same header to such a product as
 * `X-OneStack-Tenant-Id`, and `X_HTTP_Method_Override` as `X-HTTP-Method-Override`: every check on a name
 * matches the folded name. The identity namespace `X-OneStack-*` belongs to the gateway in both directions.
 */

/** A header name lowercased with `_` read as `-`, the way CGI-style servers fold it. */
export function foldHeaderName(name: string): string {
  return name.toLowerCase().replaceAll("_", "-");
}

/** True for any spelling of an `X-OneStack-*` name (`-` and `_` alike, any case). */
export function isIdentityNamespace(name: string): boolean {
  return foldHeaderName(name).startsWith("x-onestack-");
}

const namesOf = new WeakMap<Headers, readonly string[]>();

/**
 * The names in a request's headers, read once: iterating a Headers object crosses into the runtime for every
 * entry, and several steps look at every name (the method-override check, the upstream copy). Only for
 * headers that no longer change, as an incoming request's do not.
 */
export function requestHeaderNames(headers: Headers): readonly string[] {
  let names = namesOf.get(headers);
  if (names === undefined) namesOf.set(headers, (names = [...headers.keys()]));
  return names;
}

/**
 * One header of an incoming request (`name` lowercased), or null. A name the request does not carry costs no
 * call into the runtime: its names are read once (above), and most steps ask for headers most requests lack
 * (Origin, Cookie, Authorization beside a key). Each `get` that is skipped was ~2 k instructions (callgrind, issue 21).
 */
export function requestHeader(headers: Headers, name: string): string | null {
  return requestHeaderNames(headers).includes(name) ? headers.get(name) : null;
}
