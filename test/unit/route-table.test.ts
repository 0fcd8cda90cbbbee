import { describe, expect, it } from "vitest";
import { parseProducts } from "../../src/config/products";
import { derivePermission } from "../../src/config/routes";
import { matchRoute, splitSegments } from "../../src/routing/route-table";
import { refusal } from "../support/refusal";

const [psa] = parseProducts(
  {
    psa: {
      basePath: "/psa",
      upstream: "http://127.0.0.1:1",
      routes: [
        { method: "GET", path: "/tickets" },
        { method: "POST", path: "/tickets" },
        { method: "GET", path: "/tickets/:id" },
        { method: "POST", path: "/tickets/:id/attachments", body: "any" },
        { method: "GET", path: "/portal/tickets", permission: "tickets.read", portal: true },
        { method: "GET", path: "/files/*" },
        { method: "GET", path: "/reports/:id", allowMatrixParams: true },
      ],
    },
  },
  {},
);
const routes = psa!.routes;

describe("derivePermission", () => {
  it("reads the first resource segment and the method", () => {
    expect(derivePermission("GET", "/tickets/:id")).toBe("tickets.read");
    expect(derivePermission("HEAD", "/tickets")).toBe("tickets.read");
    expect(derivePermission("POST", "/tickets/:id/attachments")).toBe("tickets.write");
    expect(derivePermission("DELETE", "/devices/:id")).toBe("devices.write");
  });
});

describe("matchRoute", () => {
  it("matches literal and parameter segments", () => {
    const m = matchRoute(routes, "GET", splitSegments("/tickets/tkt_9"));
    expect(m.kind === "route" && m.route.pattern).toBe("/tickets/:id");
  });

  it("answers HEAD with the GET route and its read permission", () => {
    const m = matchRoute(routes, "HEAD", splitSegments("/tickets"));
    expect(m.kind === "route" && m.route.permission).toBe("tickets.read");
  });

  it("reports the allowed methods for a known path with another method", () => {
    expect(matchRoute(routes, "DELETE", splitSegments("/tickets"))).toEqual({ kind: "method-not-allowed", allow: ["GET", "HEAD", "POST"] });
  });

  it("is case-sensitive and does not decode, so variants never reach a route", () => {
    expect(matchRoute(routes, "GET", splitSegments("/Tickets")).kind).toBe("none");
    expect(matchRoute(routes, "GET", splitSegments("/%74ickets")).kind).toBe("none");
  });

  it("does not match a trailing slash or an empty parameter", () => {
    expect(matchRoute(routes, "GET", ["tickets", ""]).kind).toBe("none");
  });

  it("matches a trailing wildcard on any depth", () => {
    expect(matchRoute(routes, "GET", splitSegments("/files/a/b/c")).kind).toBe("route");
  });

  it("keeps the portal flag and an explicit permission", () => {
    const m = matchRoute(routes, "GET", splitSegments("/portal/tickets"));
    expect(m.kind === "route" && [m.route.portal, m.route.permission]).toEqual([true, "tickets.read"]);
  });

  it.each([
    ["POST", "/tickets/..;/attachments"],
    ["GET", "/tickets/tkt_1;jsessionid=x"],
    ["GET", "/files/..;/admin"],
    ["GET", "/files/a/b;c"],
  ])("refuses %s %s, a path parameter on a route that does not allow them, with VALIDATION_ERROR on path", (method, path) => {
    const err = refusal(() => matchRoute(routes, method, splitSegments(path)));
    expect(err.code).toBe("VALIDATION_ERROR");
    expect(err.details).toEqual({ fields: { path: expect.any(String) } });
  });

  it("passes a path parameter on a route configured with allowMatrixParams", () => {
    const m = matchRoute(routes, "GET", splitSegments("/reports/r1;format=csv"));
    expect(m.kind === "route" && [m.route.pattern, m.route.allowMatrixParams]).toEqual(["/reports/:id", true]);
  });

  it("defaults allowMatrixParams to false", () => {
    const m = matchRoute(routes, "GET", splitSegments("/tickets/tkt_1"));
    expect(m.kind === "route" && m.route.allowMatrixParams).toBe(false);
  });
});
