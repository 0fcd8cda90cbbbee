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
