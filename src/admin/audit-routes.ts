/**
 * Admin API: a tenant's audit trail of admin changes, newest first, a page at a time, with what retention
 * keeps and has dropped. The tenant's object answers within ADMIN_STORE_TIMEOUT_MS, or it is 503.
 */
import { Hono } from "hono";
import type { AppEnv } from "../env";
import type { AuditPage } from "../audit/audit-log";
import { storeCall } from "../shared/store-call";
import { tenantParam } from "./input";
import { AuditQuerySchema } from "./schemas";
import { adminValidator } from "./validation-hook";

export function auditRoutes(): Hono<AppEnv> {
  const routes = new Hono<AppEnv>();
  routes.get("/tenants/:tenantId/audit", adminValidator("query", AuditQuerySchema), async (c) => {
    const tenantId = tenantParam(c);
    const { limit, cursor } = c.req.valid("query");
    // The RPC stub types `unknown` fields (before/after) as not serializable; they are JSON values by construction.
    const stub = c.env.TENANT_LIMITER.getByName(tenantId);
    const page = await storeCall("limiter", c.get("config").admin.storeTimeoutMs, () => stub.listAudit({ limit, before: cursor ?? null }) as unknown as Promise<AuditPage>);
    return c.json({ tenantId, ...page }, 200, { "Cache-Control": "no-store" });
  });
  return routes;
}
