/**
 * The admin API, under the reserved prefix `/__gateway/admin` (product base paths cannot start with `_`):
 * every route behind admin authentication; the tenants it knows (src/admin/tenant-index.ts), integration
 * keys, per-tenant rate-limit policies, the audit trail of admin changes, and the API's own OpenAPI document.
 */
import { Hono } from "hono";
import openApiDocument from "../../docs/admin-openapi.json";
import type { AppEnv } from "../env";
import { adminAuth } from "./admin-auth";
import { auditRoutes } from "./audit-routes";
import { keyRoutes } from "./key-routes";
import { keyUpdateRoutes } from "./key-update";
import { limitRoutes } from "./limit-routes";
import { tenantIndexHooks } from "./tenant-index";
import { tenantRoutes } from "./tenant-routes";
import { tenantsFileRoutes } from "./tenants-file";

// The committed document, generated from the schemas by `npm run openapi` (src/admin/openapi.ts). Served
// as committed rather than generated at run time: the Worker ships no schema converter (a smaller script,
// every cold start), and tests and CI prove the committed file equals a fresh generation.
const OPENAPI_TEXT = JSON.stringify(openApiDocument);

export function adminRoutes(): Hono<AppEnv> {
  const admin = new Hono<AppEnv>();
  admin.use(adminAuth());
  admin.get("/openapi.json", (c) => c.body(OPENAPI_TEXT, 200, { "Content-Type": "application/json; charset=utf-8" }));
  admin.use("/tenants/:tenantId/*", tenantIndexHooks());
  admin.route("/", tenantRoutes());
  admin.route("/", keyRoutes());
  admin.route("/", keyUpdateRoutes());
  admin.route("/", limitRoutes());
  admin.route("/", auditRoutes());
  admin.route("/", tenantsFileRoutes());
  return admin;
}
