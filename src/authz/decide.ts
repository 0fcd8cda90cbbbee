/**
 * The authorization decision, pure: may this principal call this product route? Deny by default.
 *
 * - Integration keys hold a level per product: `read` (Read Only) reaches routes whose permission action
 *   is `read`; `write` (Read/Write) reaches every route of the product.
 * - User sessions carry permissions `product:resource.action`, with wildcards `product:*`,
 *   `product:resource.*` and `*` (every product).
 * - Portal tokens reach only routes marked portal-designated.
 */
import type { Principal } from "../auth/principal";
import { GatewayError } from "../errors";
import type { Route } from "../config/routes";

function forbidden(product: string, route: Route, message: string, reason: string, extra: Record<string, unknown> = {}): GatewayError {
  return new GatewayError("FORBIDDEN", {
    message,
    details: { requiredProduct: product, requiredPermission: route.permission, ...extra },
    logReason: reason,
  });
}

/** True when `granted` (e.g. `psa:tickets.*`) covers `product:permission`. */
export function permissionCovers(granted: string, product: string, permission: string): boolean {
  if (granted === "*") return true;
  // Split at the first colon only: `split(":", 2)` would drop a tail, so `psa:tickets.write:x` would grant.
  const colon = granted.indexOf(":");
  if (colon === -1 || granted.slice(0, colon) !== product) return false;
  const grantedPermission = granted.slice(colon + 1);
  if (grantedPermission === "*" || grantedPermission === permission) return true;
  if (grantedPermission.endsWith(".*")) return permission.startsWith(grantedPermission.slice(0, -1));
  return false;
}

/** Throws the contract's 403 when the principal may not call the route; returns nothing when it may. */
export function authorize(principal: Principal, product: string, route: Route): void {
  switch (principal.type) {
    case "key": {
      // Own properties only: `access.constructor` would otherwise be Object's, and grant a product of that name.
      const level = Object.hasOwn(principal.access, product) ? principal.access[product] : undefined;
      if (level === undefined) {
        throw new GatewayError("PRODUCT_ACCESS_DENIED", {
          message: `Access denied to ${product.toUpperCase()} product`,
          details: { requiredProduct: product },
          logReason: "key has no access to the product",
        });
      }
      const needsWrite = !route.permission.endsWith(".read");
      if (needsWrite && level !== "write") {
        throw forbidden(product, route, "This key is Read Only for this product", "read-only key on a write route", { keyAccess: level });
      }
      return;
    }
    case "user":
      if (!principal.permissions.some((p) => permissionCovers(p, product, route.permission))) {
        throw forbidden(product, route, "Your role does not include this action", "user lacks the permission");
      }
      return;
    case "portal":
      if (!route.portal) {
        throw forbidden(product, route, "Portal tokens can only access portal-designated endpoints", "portal token on a non-portal route", { portal: false });
      }
      return;
  }
}
