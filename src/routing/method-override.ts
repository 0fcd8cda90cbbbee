/**
 * Method-override conventions make some frameworks treat a request as another method than the one the
 * gateway authorized. They are refused rather than stripped so the caller learns why its request failed.
 * Names are compared as frameworks read them, so `_METHOD`, `_method[]` and `X_HTTP_Method_Override`
 * count too.
 */
import { validationError } from "../errors";
import { foldHeaderName, requestHeaderNames } from "../http/header-names";
import { frameworkName } from "../http/param-names";
import { memoizedByName } from "../shared/bounded-map";

/** Headers that ask a framework to run another method, lowercased; the proxy never forwards them either. */
export const METHOD_OVERRIDE_HEADERS: ReadonlySet<string> = new Set(["x-http-method-override", "x-method-override", "x-http-method", "x-original-method"]);

const overridesMethod = memoizedByName((name) => METHOD_OVERRIDE_HEADERS.has(foldHeaderName(name)));

const REFUSAL = "Method override is not supported: send the request with its real method";

/**
 * Refuses a request that carries a method-override header (`-` and `_` alike, as CGI-style servers merge
 * them) or a query parameter frameworks read as `_method`, with 400 VALIDATION_ERROR naming each as sent.
 * `query` is null for a URL without one (src/http/query.ts).
 */
export function assertNoMethodOverride(headers: Headers, query: URLSearchParams | null): void {
  const fields: Record<string, string> = {};
  for (const name of requestHeaderNames(headers)) {
    if (overridesMethod(name)) fields[name] = REFUSAL;
  }
  if (query !== null) {
    for (const name of query.keys()) {
      if (frameworkName(name) === "_method") fields[name.slice(0, 100)] = REFUSAL;
    }
  }
  if (Object.keys(fields).length > 0) throw validationError(fields, "method override attempted");
}
