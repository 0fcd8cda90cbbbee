/** Admin API: a tenant's integration keys (create, list, revoke, roll). The operations are in auth/key-admin.ts. */
import { Hono } from "hono";
import { assertPropagated, createKey, listKeys, revokeKey, rollKey } from "../auth/key-admin";
import { keyNow } from "../auth/key-store";
import type { Context } from "hono";
import type { AppEnv } from "../env";
import { logException } from "../ops/request-log";
import { audit } from "./audit";
import { jsonBody, keyIdParam, newKeyInput, rollInput, tenantParam } from "./input";

// The plaintext of a key leaves the gateway exactly once, in the answer that made it: never cached.
const NO_STORE = { "Cache-Control": "no-store" };

/**
 * Bugs a change's later steps threw (auth/key-admin.ts), after the change is recorded: each logged as an
 * exception. A create or roll still answers 201, as its plaintext key exists nowhere else; the failed step
 * is in `propagation`, and the directory's alarm repeats it.
 */
export function logBugs(c: Context<AppEnv>, bugs: unknown[]): void {
  for (const bug of bugs) logException(c.get("requestId"), bug);
}

export function keyRoutes(): Hono<AppEnv> {
  const keys = new Hono<AppEnv>();

  keys.post("/tenants/:tenantId/keys", async (c) => {
    const tenantId = tenantParam(c);
    const input = newKeyInput(await jsonBody(c), c.get("config").products.map((p) => p.name));
    const { created, bugs } = await createKey(c.env, { tenantId, ...input }, keyNow(), c.get("config").admin.storeTimeoutMs);
    const { key: _plaintext, ...record } = created;
    await audit(c, tenantId, "key.created", { keyId: record.keyId, after: record });
    logBugs(c, bugs);
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
    // A bug in a later step is an exception (500, logged by the error handler), not a store that was down (503).
    const [bug, ...more] = revoked.bugs;
    logBugs(c, more);
    if (bug !== undefined) throw bug;
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
    const { rolled, before, policies, bugs } = await rollKey(c.env, tenantId, keyId, graceSec, keyNow(), c.get("config").admin.storeTimeoutMs);
    const { key: _plaintext, propagation: _steps, ...successor } = rolled;
    // After: the successor, with the key's own policies it carries over, and the old key's new state.
    await audit(c, tenantId, "key.rolled", { keyId, before, after: { ...successor, policies } });
    logBugs(c, bugs);
    return c.json(rolled, 201, NO_STORE);
  });

  return keys;
}
