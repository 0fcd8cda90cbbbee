/** Admin API: a tenant's integration keys (create, list, revoke, roll). The operations are in auth/key-admin.ts. */
import { Hono } from "hono";
import { createKey, listKeys, revokeKey, rollKey } from "../auth/key-admin";
import { keyNow } from "../auth/key-store";
import type { AppEnv } from "../env";
import { GatewayError } from "../errors";
import { audit } from "./audit";
import { jsonBody, keyIdParam, newKeyInput, rollInput, tenantParam } from "./input";

// The plaintext of a key leaves the gateway exactly once, in the answer that made it: never cached.
const NO_STORE = { "Cache-Control": "no-store" };

export function keyRoutes(): Hono<AppEnv> {
  const keys = new Hono<AppEnv>();

  keys.post("/tenants/:tenantId/keys", async (c) => {
    const tenantId = tenantParam(c);
    const input = newKeyInput(await jsonBody(c), c.get("config").products.map((p) => p.name));
    const created = await createKey(c.env, { tenantId, ...input }, keyNow(), c.get("config").admin.storeTimeoutMs);
    const { key: _plaintext, ...record } = created;
    await audit(c, tenantId, "key.created", { keyId: record.keyId, after: record });
    return c.json(created, 201, NO_STORE);
  });

  keys.get("/tenants/:tenantId/keys", async (c) => c.json({ data: await listKeys(c.env, tenantParam(c), keyNow(), c.get("config").admin.storeTimeoutMs) }));

  keys.delete("/tenants/:tenantId/keys/:keyId", async (c) => {
    const tenantId = tenantParam(c);
    const keyId = keyIdParam(c);
    try {
      const revoked = await revokeKey(c.env, tenantId, keyId, keyNow(), c.get("config").admin.storeTimeoutMs);
      await audit(c, tenantId, "key.revoked", { keyId, before: { ...revoked, revokedAt: null }, after: revoked });
      return c.json(revoked);
    } catch (err) {
      // Revoked in the directory with a later step failed (503): the change happened, so it is recorded too.
      if (err instanceof GatewayError && err.code === "SERVICE_UNAVAILABLE") await audit(c, tenantId, "key.revoked", { keyId, after: err.details });
      throw err;
    }
  });

  keys.post("/tenants/:tenantId/keys/:keyId/roll", async (c) => {
    const tenantId = tenantParam(c);
    const keyId = keyIdParam(c);
    // The body is optional: without one (no Content-Type, no bytes) the old key stops at once.
    const empty = c.req.raw.body === null || c.req.header("content-length") === "0";
    const body = c.req.header("content-type") === undefined && empty ? {} : await jsonBody(c);
    const { graceSec } = rollInput(body);
    const rolled = await rollKey(c.env, tenantId, keyId, graceSec, keyNow(), c.get("config").admin.storeTimeoutMs);
    const { key: _plaintext, ...record } = rolled;
    await audit(c, tenantId, "key.rolled", { keyId, before: { keyId }, after: record });
    return c.json(rolled, 201, NO_STORE);
  });

  return keys;
}
