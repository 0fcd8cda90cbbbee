/**
 * Admin API: `PATCH /tenants/:tenantId/keys/:keyId` changes a key's name or expiry without a roll (the
 * secret and the key id stay). The body's rules are the create body's own, for those two fields.
 */
import { Hono } from "hono";
import * as v from "valibot";
import { updateKey } from "../auth/key-admin";
import { keyNow } from "../auth/key-store";
import type { AppEnv } from "../env";
import { audit } from "./audit";
import { logBugs } from "./key-routes";
import { isDisplaySafe, jsonBody, keyIdParam, parseRfc3339, tenantParam } from "./input";
import { newKeyBody, type DescribeFn } from "./schemas";
import { parseInput } from "./validation-hook";

const FIELDS = ["name", "expiresAt"] as const;
const EMPTY_RULE = `Must change at least one of ${FIELDS.join(", ")}`;

/** The PATCH body at `nowMs` (an expiry must be in the future): `name` and `expiresAt` (null: never expires), each optional. */
export function keyUpdateBody(nowMs: number) {
  const create = newKeyBody([], nowMs, (name) => isDisplaySafe(name, 100), parseRfc3339).entries;
  const entries = { name: v.optional(create.name), expiresAt: v.optional(create.expiresAt.wrapped) };
  // Strict, though parseInput names unknown fields in every admin body: a body of unknown fields only is
  // then not also told it changes nothing.
  const body = v.strictObject(entries, "Must be a JSON object");
  return v.pipe(
    body,
    v.metadata({ describe: ((toJson) => ({ ...toJson(body), minProperties: 1, description: EMPTY_RULE })) satisfies DescribeFn }),
    v.check((changes) => Object.keys(changes).length > 0, EMPTY_RULE),
  );
}

export function keyUpdateRoutes(): Hono<AppEnv> {
  const routes = new Hono<AppEnv>();
  routes.patch("/tenants/:tenantId/keys/:keyId", async (c) => {
    const tenantId = tenantParam(c);
    const keyId = keyIdParam(c);
    const changes = parseInput(keyUpdateBody(Date.now()), await jsonBody(c), "invalid key update");
    const { before, after, bugs } = await updateKey(c.env, tenantId, keyId, changes, keyNow(), c.get("config").admin.storeTimeoutMs);
    // A field set to the value it had is no change, and an update that changes nothing records nothing.
    const changed = FIELDS.filter((f) => Object.hasOwn(changes, f) && before[f] !== after[f]);
    if (changed.length > 0) await audit(c, tenantId, "key.updated", { keyId, before: Object.fromEntries(changed.map((f) => [f, before[f]])), after: Object.fromEntries(changed.map((f) => [f, after[f]])) });
    logBugs(c, bugs);
    return c.json(after);
  });
  return routes;
}
