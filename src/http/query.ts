/**
 * A URL's query parameters, or null when it has none. `url.searchParams` builds a URLSearchParams object on
 * first use, and each scan of its names makes an iterator inside the runtime: about 12 k instructions a
 * request for the two scans (method override, credentials), for nothing on the usual request without a
 * query (callgrind, issue 21).
 */
export function queryOf(url: URL): URLSearchParams | null {
  return url.search === "" ? null : url.searchParams;
}
