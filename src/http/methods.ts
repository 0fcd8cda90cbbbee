/**
 * The one set of HTTP methods the gateway knows (RFC 9110 §9). Routes are configured for ROUTE_METHODS; HEAD
 * is answered by a GET route and OPTIONS only as a CORS preflight, so neither is ever configured.
 */

/** The methods a product route may be configured for. */
export const ROUTE_METHODS = ["GET", "POST", "PUT", "PATCH", "DELETE"] as const;

/** Every method a request may reach a product with: the route methods and HEAD (CORS `Allow-Methods`). */
export const FORWARDED_METHODS = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE"] as const;

/** GET and HEAD: reads (RFC 9110 §9.2.1 safe methods), the `.read` permission and the `reads-open` fail mode. */
export function isReadMethod(method: string): boolean {
  return method === "GET" || method === "HEAD";
}

/** Methods whose body is forwarded: every forwarded method but the reads (the Fetch API sends none for them). */
export function forwardsBody(method: string): boolean {
  return !isReadMethod(method) && (FORWARDED_METHODS as readonly string[]).includes(method);
}

/**
 * Methods whose body is the request's content, so a JSON-only route requires a JSON Content-Type for it.
 * A DELETE body has no generally defined semantics (RFC 9110 §9.3.5) and is not required to be JSON.
 */
export function sendsContent(method: string): boolean {
  return method === "POST" || method === "PUT" || method === "PATCH";
}
