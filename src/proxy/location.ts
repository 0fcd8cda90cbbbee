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

/**
 * A product cookie's Path on the gateway, as nginx's `proxy_cookie_path` maps one: a path inside the
 * upstream's base path maps onto the product's public path as a Location does; any other (none, `/`, one
 * outside the base path, one that is not a path) becomes the product's public path itself. So a cookie a
 * product sets is sent back to that product only, never to the others on the gateway's origin.
 */
export function publicCookiePath(path: string | null, ctx: LocationContext): string {
  const base = ctx.upstreamBasePath;
  if (path === null || !path.startsWith("/")) return ctx.productBasePath;
  if (base !== "" && path !== base && !path.startsWith(`${base}/`)) return ctx.productBasePath;
  const rest = path.slice(base.length);
  return rest === "" || rest === "/" ? ctx.productBasePath : `${ctx.productBasePath}${rest}`;
}

/**
 * `Refresh: 5; url=…` (HTML's refresh grammar, sent as a header by some frameworks) with its URL mapped as
 * `rewriteLocation` maps a Location; null when that URL must go.
 */
export function rewriteRefresh(value: string, ctx: LocationContext): string | null {
  const m = /^(\s*\d+(?:\.\d*)?\s*[;,]\s*(?:url\s*=\s*)?)(['"]?)(.*?)\2\s*$/i.exec(value);
  if (m === null) return /^\s*\d+(?:\.\d*)?\s*$/.test(value) ? value : null;
  const target = rewriteLocation(m[3] ?? "", ctx);
  return target === null ? null : `${m[1] ?? ""}${m[2] ?? ""}${target}${m[2] ?? ""}`;
}

/**
 * `Link` (RFC 8288): each `<URI-Reference>` mapped as a Location; a link whose target must go is removed
 * with its parameters. Commas inside `<…>` or quoted parameters do not split links. Null when none is left.
 */
export function rewriteLink(value: string, ctx: LocationContext): string | null {
  const kept: string[] = [];
  for (const link of splitLinks(value)) {
    const m = /^\s*<([^>]*)>(.*)$/s.exec(link);
    if (m === null) continue;
    const target = rewriteLocation(m[1] ?? "", ctx);
    if (target !== null) kept.push(`<${target}>${m[2] ?? ""}`);
  }
  return kept.length === 0 ? null : kept.join(", ");
}

function splitLinks(value: string): string[] {
  const out: string[] = [];
  let start = 0;
  let inAngle = false;
  let inQuote = false;
  for (let i = 0; i < value.length; i += 1) {
    const c = value[i];
    if (inQuote) {
      if (c === "\\") i += 1;
      else if (c === '"') inQuote = false;
    } else if (c === '"' && !inAngle) inQuote = true;
    else if (c === "<") inAngle = true;
    else if (c === ">") inAngle = false;
    else if (c === "," && !inAngle) {
      out.push(value.slice(start, i));
      start = i + 1;
    }
  }
  out.push(value.slice(start));
  return out;
}
