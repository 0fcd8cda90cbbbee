/**
 * Route tables: a request's (method, product-relative path) matched against a product's configured routes
 * (src/config/routes.ts). Pure: no I/O, so the matching rules are unit-tested directly.
 *
 * Matching is exact and case-sensitive on the raw (still percent-encoded) segments: `/Tickets` or
 * `/%74ickets` never reach the `/tickets` rule, so no spelling of a path can land under a weaker rule.
 */
import type { Route } from "../config/routes";
import { assertMatrixParamsAllowed } from "./path-safety";

export type RouteMatch =
  | { kind: "route"; route: Route }
  | { kind: "method-not-allowed"; allow: string[] }
  | { kind: "none" };

function segmentMatches(patternSegment: string, actual: string): boolean {
  return patternSegment.startsWith(":") ? actual.length > 0 : patternSegment === actual;
}

function pathMatches(route: Route, segments: readonly string[]): boolean {
  const pattern = route.segments;
  const wildcard = pattern[pattern.length - 1] === "*";
  const fixed = wildcard ? pattern.length - 1 : pattern.length;
  if (wildcard ? segments.length < fixed : segments.length !== fixed) return false;
  for (let i = 0; i < fixed; i++) if (!segmentMatches(pattern[i] as string, segments[i] as string)) return false;
  return true;
}

/**
 * Finds the route for a request. HEAD is answered by the GET route (same permission). A known path with an
 * unconfigured method reports the allowed methods, so the caller can answer 405 with `Allow`. A `;` in the
 * path is refused (VALIDATION_ERROR) unless the matched route allows path parameters.
 */
export function matchRoute(routes: readonly Route[], method: string, segments: readonly string[]): RouteMatch {
  const lookup = method === "HEAD" ? "GET" : method;
  for (const route of routes) {
    if (route.method === lookup && pathMatches(route, segments)) {
      assertMatrixParamsAllowed(route.allowMatrixParams, segments);
      return { kind: "route", route };
    }
  }
  return notMatched(routes, segments);
}

/** Why no route took the request: the methods its path has (405), or none (404). Off the hot path. */
function notMatched(routes: readonly Route[], segments: readonly string[]): RouteMatch {
  const allow = new Set<string>();
  for (const route of routes) {
    if (!pathMatches(route, segments)) continue;
    allow.add(route.method);
    if (route.method === "GET") allow.add("HEAD");
  }
  return allow.size > 0 ? { kind: "method-not-allowed", allow: [...allow].sort() } : { kind: "none" };
}

/** Splits a validated product-relative path into segments: `/tickets/42` -> ["tickets", "42"], `/` -> []. */
export function splitSegments(path: string): string[] {
  return path === "/" || path === "" ? [] : path.slice(1).split("/");
}
