/** Admin API: a tenant's integration keys (create, list, revoke, roll). The operations are in auth/key-admin.ts. */
import { Hono } from "hono";
import { createKey, listKeys, revokeKey, rollKey } from "../auth/key-admin";
import { keyNow } from "../auth/key-store";
import type { AppEnv } from "../env";
import { jsonBody, keyIdParam, newKeyInput, rollInput, tenantParam } from "./input";

// The plaintext of a key leaves the gateway exactly once, in the answer that made it: never cached.
const NO_STORE = { "Cache-Control": "no-store" };

export function keyRoutes(): Hono<AppEnv> {
  const keys = new Hono<AppEnv>();

  keys.post("/tenants/:tenantId/keys", async (c) => {
    const tenantId = tenantParam(c);
    const input = newKeyInput(await jsonBody(c), c.get("config").products.map((p) => p.name));
    return c.json(await createKey(c.env, { tenantId, ...input }, keyNow()), 201, NO_STORE);
  });

  keys.get("/tenants/:tenantId/keys", async (c) => c.json({ data: await listKeys(c.env, tenantParam(c), keyNow()) }));

  keys.delete("/tenants/:tenantId/keys/:keyId", async (c) => c.json(await revokeKey(c.env, tenantParam(c), keyIdParam(c), keyNow())));

  keys.post("/tenants/:tenantId/keys/:keyId/roll", async (c) => {
    const tenantId = tenantParam(c);
    const keyId = keyIdParam(c);
    // The body is optional: without one (no Content-Type, no bytes) the old key stops at once.
    const empty = c.req.raw.body === null || c.req.header("content-length") === "0";
    const body = c.req.header("content-type") === undefined && empty ? {} : await jsonBody(c);
    const { graceSec } = rollInput(body);
    return c.json(await rollKey(c.env, tenantId, keyId, graceSec, keyNow()), 201, NO_STORE);
  });

  return keys;
}
