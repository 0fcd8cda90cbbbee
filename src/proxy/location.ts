/**
 * `Location` (and `Content-Location`) from a product, as nginx's `proxy_redirect default` treats them: a
 * reference to the product's own upstream (absolute, or relative to the request the product saw) is
 * rewritten onto the gateway's public path; a reference elsewhere on the web is left alone. Pure.
 */

export interface LocationContext {
  /** The URL the product was asked for, e.g. `http://127.0.0.1:8701/v2/tickets`. */
  upstreamUrl: string;
  /** The upstream's origin and base path (`http://127.0.0.1:8701`, `/v2` or ``). */
  upstreamOrigin: string;
  upstreamBasePath: string;
  /** The gateway's public origin (`https://api.onestack.example`) and the product's base path (`/psa`). */
  publicOrigin: string;
  productBasePath: string;
}

/** True when `value` names its own host (`http://h/…` or `//h/…`), so the rewrite keeps the absolute form. */
function hasAuthority(value: string): boolean {
  return /^(?:[A-Za-z][A-Za-z0-9+.-]*:|\/\/)/.test(value);
}

/**
 * The value the client receives: unchanged when it points off the product's upstream, rewritten onto
 * `publicOrigin + productBasePath` when it points into the upstream's base path, and null (drop it) when it
 * points at the upstream outside that base path, where no gateway URL leads and only the internal origin
 * would leak.
 */
export function rewriteLocation(value: string, ctx: LocationContext): string | null {
  let url: URL;
  try {
    url = new URL(value, ctx.upstreamUrl);
  } catch {
    return null;
  }
  if (url.origin !== ctx.upstreamOrigin) return value;
  const base = ctx.upstreamBasePath;
  const path = url.pathname;
  if (base !== "" && path !== base && !path.startsWith(`${base}/`)) return null;
  const rest = path.slice(base.length) || "/";
  const publicPath = `${ctx.productBasePath}${rest}${url.search}${url.hash}`;
  return hasAuthority(value) ? `${ctx.publicOrigin}${publicPath}` : publicPath;
}
