/**
 * The request's URL, parsed once (src/ops/observe.ts) for every later step: the parts of a WHATWG URL the
 * gateway reads. A `URL` object is a native object, and making one costs a request more than its parse
 * (about 28 k instructions for the second one the proxy made, callgrind, issue 21), so an href already in the
 * form the URL parser writes (an incoming request's is the runtime's own serialization) is split by string
 * operations; any other goes through `new URL`. The split applies only where it gives exactly what the
 * parser would (`test/unit/request-url.test.ts` checks the two against each other): a lower-case host name
 * or dotted-quad address, a port that is not the scheme's default, a path of unreserved characters without
 * dot segments, a query without characters the parser would encode, no fragment and no user info.
 */

/** What the steps read of the request URL: a `URL` satisfies it, and so does the split form. */
export type RequestUrl = Pick<URL, "href" | "origin" | "protocol" | "host" | "pathname" | "search" | "searchParams">;

const DEFAULT_PORT: Readonly<Record<string, string>> = { "http:": "80", "https:": "443" };

/**
 * scheme, host, port, path, query: the href as the URL parser writes it. Host: DNS labels in lower case, or
 * a dotted quad checked below; path: segments of unreserved characters (no `%`, so no encoded dot segment);
 * query: characters the parser leaves as they are in a special URL's query (no `'`, `"`, space, `<`, `>`, `#`).
 */
const PLAIN_HREF = /^(https?:)\/\/([a-z0-9](?:[a-z0-9.-]{0,251}[a-z0-9])?)(?::([1-9][0-9]{0,4}))?(\/[A-Za-z0-9\-._~/]*)(\?[A-Za-z0-9\-._~%!$&()*+,;=:@/?]*)?$/;
const DOT_SEGMENT = /\/\.{1,2}(?:\/|$)/;
const NUMERIC_LAST_LABEL = /(?:^|\.)(?:[0-9]+|0x[0-9a-f]*)\.?$/;
const DOTTED_QUAD = /^(?:(?:25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])\.){3}(?:25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])$/;

class SplitUrl implements RequestUrl {
  #searchParams: URLSearchParams | undefined;

  constructor(
    readonly href: string,
    readonly protocol: string,
    readonly host: string,
    readonly pathname: string,
    readonly search: string,
  ) {}

  get origin(): string {
    return `${this.protocol}//${this.host}`;
  }

  get searchParams(): URLSearchParams {
    this.#searchParams ??= new URLSearchParams(this.search);
    return this.#searchParams;
  }
}

/** `href` parsed: split when it is in the parser's own form, else `new URL(href)` (which throws on an invalid one). */
export function parseRequestUrl(href: string): RequestUrl {
  const m = PLAIN_HREF.exec(href);
  if (m === null) return new URL(href);
  const [, protocol = "", hostname = "", port, pathname = "/", query = ""] = m;
  // The parser rewrites an address in any other spelling (`127.1`, `0x7f.0.0.1`), and drops a default port.
  if (NUMERIC_LAST_LABEL.test(hostname) && !DOTTED_QUAD.test(hostname)) return new URL(href);
  if (port !== undefined && (port === DEFAULT_PORT[protocol] || Number(port) > 65535)) return new URL(href);
  // Dot segments are resolved by the parser; an empty label or an IDNA label (`xn--`) is checked by it.
  if (DOT_SEGMENT.test(pathname) || hostname.includes("..") || hostname.includes("xn--")) return new URL(href);
  return new SplitUrl(href, protocol, port === undefined ? hostname : `${hostname}:${port}`, pathname, query === "?" ? "" : query);
}
