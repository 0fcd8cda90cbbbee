import { describe, expect, it } from "vitest";
import type { Principal } from "../../src/auth/principal";
import { authorize, permissionCovers } from "../../src/authz/decide";
import { GatewayError } from "../../src/errors";
import type { Route } from "../../src/config/routes";

function route(method: string, permission: string, portal = false): Route {
  return { method, pattern: "/x", segments: ["x"], permission, portal, body: "json", allowMatrixParams: false, cost: 1 };
}

const key = (access: Record<string, "read" | "write">): Principal => ({ type: "key", tenantId: "t1", keyId: "key_0000000000000000", access });
const user = (permissions: string[]): Principal => ({ type: "user", tenantId: "t1", userId: "usr_1", permissions });
const portal: Principal = { type: "portal", tenantId: "t1", subject: "contact_1", customerId: "cus_1" };

function decision(fn: () => void): { code: string; details: unknown } | "allowed" {
  try {
    fn();
    return "allowed";
  } catch (err) {
    if (err instanceof GatewayError) return { code: err.code, details: err.details };
    throw err;
  }
}

describe("permissionCovers", () => {
  it.each([
    ["*", "psa", "tickets.write", true],
    ["psa:*", "psa", "tickets.write", true],
    ["psa:*", "rmm", "devices.read", false],
    ["psa:tickets.*", "psa", "tickets.write", true],
    ["psa:tickets.*", "psa", "tickets.read", true],
    ["psa:tickets.*", "psa", "ticketsx.read", false],
    ["psa:tickets.*", "rmm", "tickets.read", false],
    ["psa:tickets.write", "psa", "tickets.write", true],
    ["psa:tickets.read", "psa", "tickets.write", false],
    ["psa:tickets.write", "rmm", "tickets.write", false],
    ["psa:ticket*", "psa", "tickets.write", false],
    ["psa:tickets", "psa", "tickets.write", false],
    ["psa:.*", "psa", "tickets.write", false],
    ["psa:", "psa", "tickets.write", false],
    ["psa", "psa", "tickets.write", false],
    ["PSA:tickets.write", "psa", "tickets.write", false],
    ["psa:Tickets.write", "psa", "tickets.write", false],
    ["*:*", "psa", "tickets.write", false],
    ["psa:tickets.write:extra", "psa", "tickets.write", false],
    ["psa:*:extra", "psa", "tickets.write", false],
    ["", "psa", "tickets.write", false],
  ])("%s covers %s:%s -> %s", (granted, product, permission, expected) => {
    expect(permissionCovers(granted, product, permission)).toBe(expected);
  });
});

describe("authorize", () => {
  it("refuses a key without the product with PRODUCT_ACCESS_DENIED naming the product", () => {
    expect(decision(() => authorize(key({ rmm: "write" }), "psa", route("GET", "tickets.read")))).toEqual({
      code: "PRODUCT_ACCESS_DENIED",
      details: { requiredProduct: "psa" },
    });
  });

  it("lets a read-only key read and refuses it every non-read action with FORBIDDEN and the required permission", () => {
    expect(decision(() => authorize(key({ psa: "read" }), "psa", route("GET", "tickets.read")))).toBe("allowed");
    for (const permission of ["tickets.write", "scripts.execute", "tickets.delete"]) {
      const result = decision(() => authorize(key({ psa: "read" }), "psa", route("POST", permission)));
      expect(result).toMatchObject({ code: "FORBIDDEN", details: { requiredProduct: "psa", requiredPermission: permission } });
    }
  });

  it("lets a read/write key call every route of its product", () => {
    for (const permission of ["tickets.read", "tickets.write", "scripts.execute"]) {
      expect(decision(() => authorize(key({ psa: "write" }), "psa", route("POST", permission)))).toBe("allowed");
    }
  });

  it.each(["constructor", "toString", "hasOwnProperty", "__proto__", "valueOf"])(
    "refuses a key for a product named %s, which only the access map's prototype has, with PRODUCT_ACCESS_DENIED",
    (product) => {
      const result = decision(() => authorize(key({ psa: "write" }), product, route("GET", "tickets.read")));
      expect(result).toEqual({ code: "PRODUCT_ACCESS_DENIED", details: { requiredProduct: product } });
    },
  );

  it("reads a key's access from a stored record (JSON) as own properties only", () => {
    const stored = JSON.parse('{"__proto__":{"psa":"write"}}') as Record<string, "write">;
    expect(decision(() => authorize(key(stored), "psa", route("GET", "tickets.read")))).toMatchObject({ code: "PRODUCT_ACCESS_DENIED" });
  });

  it("refuses a key whose access map holds an unknown level", () => {
    const odd = key({ psa: "admin" as "write" });
    expect(decision(() => authorize(odd, "psa", route("POST", "tickets.write")))).toMatchObject({ code: "FORBIDDEN" });
  });

  it("refuses a user lacking the permission with FORBIDDEN and the required product and permission", () => {
    expect(decision(() => authorize(user(["psa:tickets.read"]), "psa", route("POST", "tickets.write")))).toEqual({
      code: "FORBIDDEN",
      details: { requiredProduct: "psa", requiredPermission: "tickets.write" },
    });
  });

  it("refuses a user with no permissions at all", () => {
    expect(decision(() => authorize(user([]), "psa", route("GET", "tickets.read")))).toMatchObject({ code: "FORBIDDEN" });
  });

  it("allows a user whose any permission covers the route", () => {
    expect(decision(() => authorize(user(["rmm:*", "psa:tickets.*"]), "psa", route("POST", "tickets.write")))).toBe("allowed");
  });

  it("keeps a portal token to portal-designated routes, saying so in the details", () => {
    expect(decision(() => authorize(portal, "psa", route("GET", "tickets.read", true)))).toBe("allowed");
    expect(decision(() => authorize(portal, "psa", route("GET", "tickets.read")))).toEqual({
      code: "FORBIDDEN",
      details: { requiredProduct: "psa", requiredPermission: "tickets.read", portal: false },
    });
  });
});
