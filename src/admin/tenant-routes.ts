/**
 * Admin API: the tenants the gateway knows (src/admin/tenant-index.ts): every tenant with keys, policies of
 * its own or an admin change, with its key counts and last change, a page at a time; and one tenant.
 */
import { Hono } from "hono";
import * as v from "valibot";
import type { AppEnv } from "../env";
import { tenantParam } from "./input";
import { findTenant, listTenantSummaries, unknownTenant } from "./tenant-index";
import { TENANT_ID_PATTERN } from "../shared/tenant-id";
import { adminValidator } from "./validation-hook";
import { PAGE_SIZE_JSON_PATTERN } from "./json-patterns";
import { listKeys } from "../auth/key-admin";
import { keyNow } from "../auth/key-store";

const PAGE_RULE = "Must be an integer from 1 to 100";

/** `GET /tenants` query: `limit` 1-100 (default 100), `cursor` from the previous page's `nextCursor` (a tenant id). */
export const TenantListQuerySchema = v.object({
  limit: v.optional(v.pipe(v.string(), v.regex(new RegExp(PAGE_SIZE_JSON_PATTERN), PAGE_RULE), v.transform(Number)), "100"),
  cursor: v.optional(v.pipe(v.string(), v.regex(TENANT_ID_PATTERN, "Must be a nextCursor from an earlier page"))),
});

export function tenantRoutes(): Hono<AppEnv> {
  const routes = new Hono<AppEnv>();
  routes.get("/tenants", adminValidator("query", TenantListQuerySchema), async (c) => {
    const { limit, cursor } = c.req.valid("query");
    return c.json(await listTenantSummaries(c, cursor ?? "", limit), 200, { "Cache-Control": "no-store" });
  });
  routes.get("/tenants/:tenantId", async (c) => {
    const tenantId = tenantParam(c);
    const found = await findTenant(c, tenantId);
    if (found === null) throw unknownTenant(tenantId);
    const keys = await listKeys(c.env, tenantId, keyNow(), c.get("config").admin.storeTimeoutMs);
    const usableKeys = keys.filter((k) => k.state === "active" || k.state === "rolling").length;
    return c.json({ ...found, keys: keys.length, usableKeys }, 200, { "Cache-Control": "no-store" });
  });
  return routes;
}
