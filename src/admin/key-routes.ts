/** Admin API: a tenant's integration keys (create, list, revoke). */
import { Hono } from "hono";
import { generateIntegrationKey, hashKey } from "../auth/integration-key";
import { listKeys, putKey, revokeKeyRecord, type KeyRecord } from "../auth/key-store";
import { rememberRevoked } from "../auth/revoked-keys";
import type { AppEnv } from "../env";
import { GatewayError } from "../errors";
import { audit } from "./audit";
import { jsonBody, keyIdParam, newKeyInput, tenantParam } from "./input";

function newKeyId(): string {
  return `key_${[...crypto.getRandomValues(new Uint8Array(8))].map((b) => b.toString(16).padStart(2, "0")).join("")}`;
}

export function keyRoutes(): Hono<AppEnv> {
  const keys = new Hono<AppEnv>();

  keys.post("/tenants/:tenantId/keys", async (c) => {
    const tenantId = tenantParam(c);
    const input = newKeyInput(await jsonBody(c), c.get("config").products.map((p) => p.name));
    const key = generateIntegrationKey();
    const record: KeyRecord = { keyId: newKeyId(), tenantId, ...input, createdAt: new Date().toISOString(), revokedAt: null };
    await putKey(c.env.KEYS, await hashKey(key), record);
    await audit(c, tenantId, "key.created", { keyId: record.keyId, after: record });
    // The plaintext leaves the gateway exactly once, here.
    return c.json({ key, ...record }, 201, { "Cache-Control": "no-store" });
  });

  keys.get("/tenants/:tenantId/keys", async (c) => c.json({ data: await listKeys(c.env.KEYS, tenantParam(c)) }));

  keys.delete("/tenants/:tenantId/keys/:keyId", async (c) => {
    const tenantId = tenantParam(c);
    const keyId = keyIdParam(c);
    const revoked = await revokeKeyRecord(c.env.KEYS, tenantId, keyId);
    if (revoked === null) throw new GatewayError("NOT_FOUND", { details: { resourceType: "integrationKey", resourceId: keyId } });
    // The tenant's object tells every isolate at its next lease exchange (within one lease life); this one knows now.
    await c.env.TENANT_LIMITER.getByName(tenantId).revokeKey(keyId);
    rememberRevoked(tenantId, [keyId]);
    await audit(c, tenantId, "key.revoked", { keyId, before: { ...revoked, revokedAt: null }, after: revoked });
    return c.json(revoked);
  });

  return keys;
}
