/**
 * The identity namespace `X-OneStack-*` belongs to the gateway in both directions. CGI, WSGI and Rack read
 * `_` in a header name as `-` (both become `_` in the environment), so `X-OneStack_Tenant-Id` is the same
 * header to such a product and must be matched as one.
 */

/** A header name lowercased with `_` read as `-`, the way CGI-style servers fold it. */
export function foldHeaderName(name: string): string {
  return name.toLowerCase().replaceAll("_", "-");
}

/** True for any spelling of an `X-OneStack-*` name (`-` and `_` alike, any case). */
export function isIdentityNamespace(name: string): boolean {
  return foldHeaderName(name).startsWith("x-onestack-");
}
