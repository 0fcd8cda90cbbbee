/**
 * The admin API's key operations, in the order that keeps every copy honest: the directory (the authority)
 * first, then KV, then the tenant's limiter for revocations. A failed directory call changes nothing that
 * any reader trusts, and is 503. A failure after it is reported step by step in `propagation`; the
 * directory's alarm repairs it (KV rewritten from the directory, the revocation re-sent), and repeating a
 * revocation is safe. So KV can lag the directory for at most the sync delay, never contradict it after.
 * Each call to a store waits at most `timeoutMs` (ADMIN_STORE_TIMEOUT_MS); a late call is a failed one.
 */
import type { TrailPolicy } from "../audit/audit-log";
import { GatewayError } from "../errors";
import { rememberRevoked } from "./revoked-keys";
import { generateIntegrationKey } from "./integration-key";
import type { KeyDirectory, RollResult, StoredKey, UpdateResult } from "./key-directory";
import { legacyKey, legacyKeys, writeKeyToKv } from "./key-kv";
import { hashKey, listedRecord, newKeyId, SHARD_COUNT, shardForHash, shardForKeyId, type KeyRecord } from "./key-record";
import { withDeadline } from "../shared/with-deadline";
import { storeCall } from "../shared/store-call";
import { isUnavailable } from "../shared/unavailable";
import { forgetKey } from "./key-store";

export type Step = "written" | "failed";
export interface Propagation {
  directory: "written";
  kv: Step;
  limiter?: Step;
}

type Directory = DurableObjectStub<KeyDirectory>;

/** One directory call with a deadline (ADMIN_STORE_TIMEOUT_MS); late or unavailable is 503, as nothing is known to have changed. */
export const directoryCall = <T>(timeoutMs: number, call: () => Promise<T>): Promise<T> => storeCall("directory", timeoutMs, call);
/**
 * A read of KV's index of keys made before the directory, with the same deadline. KV is their only store,
 * so late or failed is 503 (`details.kv: "failed"`): a 404 or a list without them would be untrue.
 */
const legacyRead = <T>(timeoutMs: number, read: () => Promise<T>): Promise<T> => storeCall("kv", timeoutMs, read);

/**
 * The later steps of one change. A step whose store did not answer (late, or unavailable) is "failed", and
 * the directory's alarm repeats it. A step that threw anything else also did not happen, and is "failed"
 * too, but that error is a bug: it is kept in `bugs` for the route to log as an exception (and, when no
 * plaintext key has to be answered, to answer 500) once the change that did happen is recorded.
 */
class Steps {
  readonly bugs: unknown[] = [];

  async run(timeoutMs: number, write: () => Promise<unknown>): Promise<Step> {
    try {
      await withDeadline(write(), timeoutMs);
      return "written";
    } catch (err) {
      if (!isUnavailable(err)) this.bugs.push(err);
      return "failed";
    }
  }
}

const notFound = (keyId: string) => new GatewayError("NOT_FOUND", { details: { resourceType: "integrationKey", resourceId: keyId } });
const kvWrite = (steps: Steps, env: Env, timeoutMs: number, ...keys: StoredKey[]) => steps.run(timeoutMs, () => Promise.all(keys.map((k) => writeKeyToKv(env.KEYS, k.hash, k.record))));

/** The shard holding a key id; a key made before the directory is adopted into it from its KV index entry first. */
async function locate(env: Env, tenantId: string, keyId: string, timeoutMs: number): Promise<Directory | null> {
  const byId = env.KEY_DIRECTORY.getByName(shardForKeyId(keyId));
  if ((await directoryCall(timeoutMs, () => byId.find(tenantId, keyId))) !== null) return byId;
  const legacy = await legacyRead(timeoutMs, () => legacyKey(env.KEYS, tenantId, keyId));
  if (legacy === null) return null;
  const home = env.KEY_DIRECTORY.getByName(shardForHash(legacy.hash));
  await directoryCall(timeoutMs, () => home.create(legacy.hash, legacy.record));
  return home;
}

/** Refuses with 404 a key id the tenant does not have (in the directory, or from before it, in KV). */
export async function assertKeyExists(env: Env, tenantId: string, keyId: string, timeoutMs: number): Promise<void> {
  const byId = env.KEY_DIRECTORY.getByName(shardForKeyId(keyId));
  if ((await directoryCall(timeoutMs, () => byId.find(tenantId, keyId))) !== null) return;
  if ((await legacyRead(timeoutMs, () => legacyKey(env.KEYS, tenantId, keyId))) === null) throw notFound(keyId);
}

/** Creates a key; the plaintext is in the answer only. */
export async function createKey(env: Env, fields: Omit<KeyRecord, "keyId" | "createdAt" | "revokedAt">, nowMs: number, timeoutMs: number) {
  const key = generateIntegrationKey();
  const hash = await hashKey(key);
  const record: KeyRecord = { keyId: newKeyId(hash), ...fields, createdAt: new Date(nowMs).toISOString(), revokedAt: null };
  const created = await directoryCall(timeoutMs, () => env.KEY_DIRECTORY.getByName(shardForHash(hash)).create(hash, record));
  const steps = new Steps();
  const propagation: Propagation = { directory: "written", kv: await kvWrite(steps, env, timeoutMs, created) };
  return { created: { key, ...listedRecord(record, nowMs), propagation }, bugs: steps.bugs };
}

/** Tells the tenant's limiter (so every isolate learns it within a lease life) and this isolate, at once. */
async function propagateRevocation(steps: Steps, env: Env, tenantId: string, keyId: string, timeoutMs: number): Promise<Step> {
  rememberRevoked(tenantId, [keyId]);
  return steps.run(timeoutMs, () => env.TENANT_LIMITER.getByName(tenantId).revokeKey(keyId));
}

/**
 * Revokes a key: the record as revoked, whether this call revoked it (false: it already was, and the
 * first revocation time stays) and where it reached. Propagation is repeated either way, so retrying after
 * a 503 completes it; `assertPropagated` turns an incomplete one into that 503.
 */
export async function revokeKey(env: Env, tenantId: string, keyId: string, nowMs: number, timeoutMs: number) {
  const directory = await locate(env, tenantId, keyId, timeoutMs);
  const revoked = directory === null ? null : await directoryCall(timeoutMs, () => directory.revoke(tenantId, keyId));
  if (revoked === null) throw notFound(keyId);
  const steps = new Steps();
  const propagation: Propagation = { directory: "written", limiter: await propagateRevocation(steps, env, tenantId, keyId, timeoutMs), kv: await kvWrite(steps, env, timeoutMs, revoked) };
  forgetKey(revoked.hash);
  const record = listedRecord(revoked.record, nowMs);
  const before = revoked.changed ? listedRecord({ ...revoked.record, revokedAt: null }, nowMs) : null;
  return { record, before, changed: revoked.changed, propagation, bugs: steps.bugs };
}

/** 503 with the steps when a change written in the directory did not reach every copy; retrying is safe. */
export function assertPropagated(keyId: string, propagation: Propagation): void {
  if (propagation.kv === "failed" || propagation.limiter === "failed") {
    throw new GatewayError("SERVICE_UNAVAILABLE", { headers: { "Retry-After": "1" }, details: { keyId, ...propagation }, logReason: "key changed in the directory; propagation incomplete" });
  }
}

/** Rolls a key: its successor (plaintext in the answer only) and the old key's new state. */
export async function rollKey(env: Env, tenantId: string, keyId: string, graceSec: number, nowMs: number, timeoutMs: number) {
  const directory = await locate(env, tenantId, keyId, timeoutMs);
  if (directory === null) throw notFound(keyId);
  // The stub's type of a union answer is a union of promises; the answer itself is a RollResult.
  const result = await directoryCall(timeoutMs, async () => (await directory.roll(tenantId, keyId, graceSec)) as RollResult);
  if (result.kind === "not-found") throw notFound(keyId);
  if (result.kind === "not-rollable") {
    const record = listedRecord(result.record, nowMs);
    throw new GatewayError("CONFLICT", { details: { resourceType: "integrationKey", resourceId: keyId, state: record.state, rolledTo: record.rolledTo } });
  }
  const steps = new Steps();
  const propagation: Propagation = { directory: "written", kv: await kvWrite(steps, env, timeoutMs, result.next, result.old) };
  // The successor keeps the key's own policies (its identity, like name and access); the directory's alarm
  // repeats this until it succeeds, so a failure here is repaired within the sync delay.
  let policies: TrailPolicy[] | null = null;
  const inherited = await steps.run(timeoutMs, async () => (policies = await env.TENANT_LIMITER.getByName(tenantId).inheritKeyPolicies(keyId, result.next.record.keyId)));
  const revoked = graceSec === 0 ? await propagateRevocation(steps, env, tenantId, keyId, timeoutMs) : "written";
  propagation.limiter = inherited === "written" && revoked === "written" ? "written" : "failed";
  forgetKey(result.old.hash); // this isolate's next request reads the old key's deadline
  // Before the roll the key was active: no successor, no grace, not revoked.
  const before = listedRecord({ ...result.old.record, rolledTo: null, graceUntil: null, revokedAt: null }, nowMs);
  const rolled = { key: result.key, ...listedRecord(result.next.record, nowMs), previous: listedRecord(result.old.record, nowMs), propagation };
  return { rolled, before, policies: policies as TrailPolicy[] | null, bugs: steps.bugs };
}

/**
 * Changes a key's name or expiry without a roll: the directory first, then KV; this isolate forgets its cached
 * record at once, other isolates within their cache's life. Revoked keys are 409 CONFLICT.
 */
export async function updateKey(env: Env, tenantId: string, keyId: string, changes: { name?: string; expiresAt?: string | null }, nowMs: number, timeoutMs: number) {
  const directory = await locate(env, tenantId, keyId, timeoutMs);
  if (directory === null) throw notFound(keyId);
  const result = await directoryCall(timeoutMs, async () => (await directory.update(tenantId, keyId, changes)) as UpdateResult);
  if (result.kind === "not-found") throw notFound(keyId);
  if (result.kind === "revoked") throw new GatewayError("CONFLICT", { details: { resourceType: "integrationKey", resourceId: keyId, state: "revoked" } });
  const steps = new Steps();
  const propagation: Propagation = { directory: "written", kv: await kvWrite(steps, env, timeoutMs, result.after) };
  forgetKey(result.after.hash);
  return { before: listedRecord(result.before, nowMs), after: { ...listedRecord(result.after.record, nowMs), propagation }, bugs: steps.bugs };
}

/** A tenant's keys with their states, oldest first, from every shard (and keys made before the directory). */
export async function listKeys(env: Env, tenantId: string, nowMs: number, timeoutMs: number) {
  const shards = Array.from({ length: SHARD_COUNT }, (_, i) => env.KEY_DIRECTORY.getByName(`shard-${i.toString(16)}`));
  const found = (await directoryCall(timeoutMs, () => Promise.all(shards.map((s) => s.list(tenantId))))).flat();
  const ids = new Set(found.map((r) => r.keyId));
  const legacy = (await legacyRead(timeoutMs, () => legacyKeys(env.KEYS, tenantId))).filter((r) => !ids.has(r.keyId));
  return [...found, ...legacy].sort((a, b) => a.createdAt.localeCompare(b.createdAt)).map((r) => listedRecord(r, nowMs));
}
