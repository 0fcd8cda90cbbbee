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
  const last = route.segments.at(-1);
  if (last === "*") {
    if (segments.length < route.segments.length - 1) return false;
    return route.segments.slice(0, -1).every((p, i) => segmentMatches(p, segments[i] ?? ""));
  }
  return route.segments.length === segments.length && route.segments.every((p, i) => segmentMatches(p, segments[i] ?? ""));
}

/**
 * Finds the route for a request. HEAD is answered by the GET route (same permission). A known path with an
 * unconfigured method reports the allowed methods, so the caller can answer 405 with `Allow`. A `;` in the
 * path is refused (VALIDATION_ERROR) unless the matched route allows path parameters.
 */
export function matchRoute(routes: readonly Route[], method: string, segments: readonly string[]): RouteMatch {
  const lookup = method === "HEAD" ? "GET" : method;
  const allow = new Set<string>();
  for (const route of routes) {
    if (!pathMatches(route, segments)) continue;
    if (route.method === lookup) {
      assertMatrixParamsAllowed(route.allowMatrixParams, segments);
      return { kind: "route", route };
    }
    allow.add(route.method);
    if (route.method === "GET") allow.add("HEAD");
  }
  return allow.size > 0 ? { kind: "method-not-allowed", allow: [...allow].sort() } : { kind: "none" };
}

/** Splits a validated product-relative path into segments: `/tickets/42` -> ["tickets", "42"], `/` -> []. */
export function splitSegments(path: string): string[] {
  return path === "/" || path === "" ? [] : path.slice(1).split("/");
}
