/**
 * A final `*` in a route path (docs/configuration.md, "Products and routes"): it stands for any rest of the path, the
 * bare prefix included, under the route's one permission; it never widens the literal segments before it.
 */
import { describe, expect, it } from "vitest";
import { parseProducts } from "../../src/config/products";
import { matchRoute, splitSegments } from "../../src/routing/route-table";

const [files] = parseProducts({ files: { basePath: "/files", upstream: "http://127.0.0.1:1", routes: [{ method: "GET", path: "/docs/*" }] } }, {});
const routes = files?.routes ?? [];

const patternOf = (method: string, path: string) => {
  const m = matchRoute(routes, method, splitSegments(path));
  return m.kind === "route" ? [m.route.pattern, m.route.permission] : m.kind;
};

describe("a /x/* route", () => {
  it.each(["/docs/a", "/docs/a/b/c"])("matches %s under the route's permission", (path) => {
    expect(patternOf("GET", path)).toEqual(["/docs/*", "docs.read"]);
  });

  it("matches the bare /x as well", () => {
    expect(patternOf("GET", "/docs")).toEqual(["/docs/*", "docs.read"]);
  });

  it.each(["/doc", "/docsx", "/docsx/a", "/Docs/a", "/"])("does not match %s", (path) => {
    expect(patternOf("GET", path)).toBe("none");
  });

  it("answers another method on the bare /x and below it with 405", () => {
    expect(matchRoute(routes, "POST", splitSegments("/docs"))).toEqual({ kind: "method-not-allowed", allow: ["GET", "HEAD"] });
    expect(matchRoute(routes, "DELETE", splitSegments("/docs/a/b"))).toEqual({ kind: "method-not-allowed", allow: ["GET", "HEAD"] });
  });
});
