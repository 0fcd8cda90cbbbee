/**
 * The admin API, under the reserved prefix `/__gateway/admin` (product base paths cannot start with `_`):
 * every route behind admin authentication; integration keys and per-tenant rate-limit policies.
 */
import { Hono } from "hono";
import type { AppEnv } from "../env";
import { adminAuth } from "./admin-auth";
import { keyRoutes } from "./key-routes";
import { limitRoutes } from "./limit-routes";

export function adminRoutes(): Hono<AppEnv> {
  const admin = new Hono<AppEnv>();
  admin.use(adminAuth());
  admin.route("/", keyRoutes());
  admin.route("/", limitRoutes());
  return admin;
}
