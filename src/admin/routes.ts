/**
 * The admin API, under the reserved prefix `/__gateway/admin` (product base paths cannot start with `_`):
 * every route behind admin authentication; integration keys, per-tenant rate-limit policies, the audit trail
 * of admin changes, and the API's own OpenAPI document.
 */
import { Hono } from "hono";
import type { GatewayConfig } from "../config";
import type { AppEnv } from "../env";
import { adminAuth } from "./admin-auth";
import { auditRoutes } from "./audit-routes";
import { keyRoutes } from "./key-routes";
import { limitRoutes } from "./limit-routes";
import { buildOpenApi } from "./openapi";

// One document per configuration (per isolate in production): building it converts every schema.
const documents = new WeakMap<GatewayConfig, string>();

function openApiText(config: GatewayConfig): string {
  let text = documents.get(config);
  if (text === undefined) {
    text = JSON.stringify(buildOpenApi(config.products.map((p) => p.name)));
    documents.set(config, text);
  }
  return text;
}

export function adminRoutes(): Hono<AppEnv> {
  const admin = new Hono<AppEnv>();
  admin.use(adminAuth());
  admin.get("/openapi.json", (c) => c.body(openApiText(c.get("config")), 200, { "Content-Type": "application/json; charset=utf-8" }));
  admin.route("/", keyRoutes());
  admin.route("/", limitRoutes());
  admin.route("/", auditRoutes());
  return admin;
}
