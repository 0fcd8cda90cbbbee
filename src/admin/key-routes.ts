/** Admin API: a tenant's integration keys (create, list, revoke, roll). The operations are in auth/key-admin.ts. */
import { Hono } from "hono";
import { assertPropagated, createKey, listKeys, revokeKey, rollKey } from "../auth/key-admin";
import { keyNow } from "../auth/key-store";
import type { AppEnv } from "../env";
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
    // A directory that cannot answer (503) or a key the tenant does not have (404) throws here: nothing changed, nothing is recorded.
    const revoked = await revokeKey(c.env, tenantId, keyId, keyNow(), c.get("config").admin.storeTimeoutMs);
    // Recorded once, by the call that revoked it (also when a later step failed: the revocation stands); a repeat changes nothing.
    if (revoked.changed) await audit(c, tenantId, "key.revoked", { keyId, before: revoked.before, after: revoked.record });
    assertPropagated(keyId, revoked.propagation);
    return c.json({ ...revoked.record, propagation: revoked.propagation });
  });

  keys.post("/tenants/:tenantId/keys/:keyId/roll", async (c) => {
    const tenantId = tenantParam(c);
    const keyId = keyIdParam(c);
    // The body is optional: without one (no Content-Type, no bytes) the old key stops at once.
    const empty = c.req.raw.body === null || c.req.header("content-length") === "0";
    const body = c.req.header("content-type") === undefined && empty ? {} : await jsonBody(c);
    const { graceSec } = rollInput(body);
    const rolled = await rollKey(c.env, tenantId, keyId, graceSec, keyNow(), c.get("config").admin.storeTimeoutMs);
    const { key: _plaintext, before, policies, propagation: _steps, ...successor } = rolled;
    // After: the successor, with the key's own policies it carries over, and the old key's new state.
    await audit(c, tenantId, "key.rolled", { keyId, before, after: { ...successor, policies } });
    const { before: _b, policies: _p, ...answer } = rolled;
    return c.json(answer, 201, NO_STORE);
  });

  return keys;
}
