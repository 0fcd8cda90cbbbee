/**
 * The authority for integration keys: a SQLite Durable Object per shard (SHARD_COUNT shards, by the first hex
 * digit of the key's SHA-256, so no object is hot and a key's record and its successor after a roll share
 * one object, written in one transaction). KV is only its replicated read cache: the admin API writes here
 * first, then KV; every change also marks its row unsynced, and the object's alarm rewrites unsynced rows
 * into KV (and re-sends revocations to the tenant's limiter) until that succeeds, so KV always converges to
 * this object whatever failed in between; it also copies a rolled key's own rate-limit policies to its
 * successor until that succeeds. The alarm also ends grace periods: at a rolled key's deadline it
 * revokes the key here and through the tenant's limiter (which tells every isolate within a lease life).
 */
import { DurableObject } from "cloudflare:workers";
import { generateIntegrationKey } from "./integration-key";
import { hashKey, isUsable, keyState, newKeyId, type KeyRecord } from "./key-record";
import { writeKeyToKv } from "./key-kv";
import { adoptTenant, findTenant, listTenants, recordTenant, type IndexedTenant } from "../audit/tenant-index";
import { parseAdminConfig } from "../config/admin";
import { withDeadline } from "../shared/with-deadline";

/** How soon after a change the alarm rewrites KV from here (the admin route's own write usually got there first). */
const SYNC_DELAY_MS = 30_000;
const MAX_ROLL_ATTEMPTS = 1_000;
const SYNC_BATCH = 100;

export interface StoredKey {
  hash: string;
  record: KeyRecord;
}

export type RollResult =
  | { kind: "rolled"; key: string; old: StoredKey; next: StoredKey }
  | { kind: "not-found" }
  | { kind: "not-rollable"; record: KeyRecord };

export type UpdateResult = { kind: "updated"; before: KeyRecord; after: StoredKey } | { kind: "not-found" } | { kind: "revoked"; record: KeyRecord };

interface Row extends Record<string, SqlStorageValue> {
  hash: string;
  record: string;
  version: number;
}

const stored = (row: Row): StoredKey => ({ hash: row.hash, record: JSON.parse(row.record) as KeyRecord });

export class KeyDirectory extends DurableObject<Env> {
  /** The clock; tests replace it through runInDurableObject to move time exactly. */
  clock: () => number = () => Date.now();

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    // deadline: a grace period's end (ms), for rows the alarm must revoke; synced = 0 until KV has the row.
    ctx.storage.sql.exec(`CREATE TABLE IF NOT EXISTS keys (hash TEXT PRIMARY KEY, tenant_id TEXT NOT NULL, key_id TEXT NOT NULL,
        record TEXT NOT NULL, version INTEGER NOT NULL, synced INTEGER NOT NULL, deadline INTEGER);
      CREATE UNIQUE INDEX IF NOT EXISTS keys_by_id ON keys (tenant_id, key_id);
      CREATE INDEX IF NOT EXISTS keys_unsynced ON keys (synced) WHERE synced = 0;
      CREATE INDEX IF NOT EXISTS keys_deadline ON keys (deadline) WHERE deadline IS NOT NULL;`);
  }

  /** The record for a key hash, or null: the answer behind every KV miss. */
  async lookup(hash: string): Promise<KeyRecord | null> {
    const row = this.ctx.storage.sql.exec<Row>("SELECT hash, record, version FROM keys WHERE hash = ?", hash).toArray()[0];
    return row === undefined ? null : stored(row).record;
  }

  /** A key by tenant and id, or null. */
  async find(tenantId: string, keyId: string): Promise<StoredKey | null> {
    const row = this.ctx.storage.sql.exec<Row>("SELECT hash, record, version FROM keys WHERE tenant_id = ? AND key_id = ?", tenantId, keyId).toArray()[0];
    return row === undefined ? null : stored(row);
  }

  /** Stores a key unless its hash is already known (an adopted key made before the directory); returns what is stored. */
  async create(hash: string, record: KeyRecord): Promise<StoredKey> {
    const known = await this.lookup(hash);
    if (known !== null) return { hash, record: known };
    this.write(hash, record, true);
    await this.scheduleAlarm(null);
    return { hash, record };
  }

  /** Revokes a key (idempotent: the first revocation time stays; `changed` says whether this call revoked it). Null for an unknown key. */
  async revoke(tenantId: string, keyId: string): Promise<(StoredKey & { changed: boolean }) | null> {
    const found = await this.find(tenantId, keyId);
    if (found === null) return null;
    if (found.record.revokedAt !== null) return { ...found, changed: false };
    const record = { ...found.record, revokedAt: new Date(this.clock()).toISOString() };
    this.write(found.hash, record, false);
    await this.scheduleAlarm(null);
    return { hash: found.hash, record, changed: true };
  }

  /**
   * Rolls a usable, not yet rolled key: a successor with the same tenant, name and access (its plaintext is
   * returned, never stored), and the old key's grace deadline `graceSec` from now (0: revoked now).
   */
  async roll(tenantId: string, keyId: string, graceSec: number): Promise<RollResult> {
    const found = await this.find(tenantId, keyId);
    if (found === null) return { kind: "not-found" };
    const nowMs = this.clock();
    if (keyState(found.record, nowMs) !== "active") return { kind: "not-rollable", record: found.record };
    const { key, hash } = await this.keyForThisShard(found.hash);
    const nowIso = new Date(nowMs).toISOString();
    const nextRecord: KeyRecord = { ...found.record, keyId: newKeyId(hash), createdAt: nowIso, revokedAt: null, rolledTo: null, graceUntil: null, rolledFrom: keyId };
    const graceUntil = new Date(nowMs + graceSec * 1000).toISOString();
    const oldRecord: KeyRecord = { ...found.record, rolledTo: nextRecord.keyId, graceUntil, revokedAt: graceSec === 0 ? nowIso : null };
    this.ctx.storage.transactionSync(() => {
      this.write(hash, nextRecord, true);
      this.write(found.hash, oldRecord, false, graceSec === 0 ? null : nowMs + graceSec * 1000);
    });
    await this.scheduleAlarm(graceSec === 0 ? null : nowMs + graceSec * 1000);
    return { kind: "rolled", key, old: { hash: found.hash, record: oldRecord }, next: { hash, record: nextRecord } };
  }

  /**
   * Changes a key's name or expiry in place (the secret and id stay). A revoked key is not changed: it can
   * never be used again, and its record is the audit's. A rolling key keeps its grace deadline.
   */
  async update(tenantId: string, keyId: string, changes: { name?: string; expiresAt?: string | null }): Promise<UpdateResult> {
    const found = await this.find(tenantId, keyId);
    if (found === null) return { kind: "not-found" };
    if (keyState(found.record, this.clock()) === "revoked") return { kind: "revoked", record: found.record };
    const record: KeyRecord = { ...found.record, ...changes };
    const grace = record.graceUntil === null || record.graceUntil === undefined ? null : Date.parse(record.graceUntil);
    this.write(found.hash, record, false, grace);
    await this.scheduleAlarm(grace);
    return { kind: "updated", before: found.record, after: { hash: found.hash, record } };
  }

  /** A tenant's keys in this shard. */
  async list(tenantId: string): Promise<KeyRecord[]> {
    return this.ctx.storage.sql.exec<Row>("SELECT hash, record, version FROM keys WHERE tenant_id = ?", tenantId).toArray().map((r) => stored(r).record);
  }

  /**
   * Key counts of up to `limit` tenants after `after` (exclusive) that have keys in this shard, in tenant id
   * order: all keys, and those that may authenticate now (for the tenant index).
   */
  async tenantKeyCounts(after: string, limit: number): Promise<Array<{ tenantId: string; keys: number; usableKeys: number }>> {
    const nowMs = this.clock();
    const counts = new Map<string, { tenantId: string; keys: number; usableKeys: number }>();
    const rows = this.ctx.storage.sql.exec<{ tenant_id: string; record: string }>(
      "SELECT tenant_id, record FROM keys WHERE tenant_id IN (SELECT DISTINCT tenant_id FROM keys WHERE tenant_id > ? ORDER BY tenant_id LIMIT ?) ORDER BY tenant_id",
      after,
      limit,
    );
    for (const row of rows) {
      const entry = counts.get(row.tenant_id) ?? { tenantId: row.tenant_id, keys: 0, usableKeys: 0 };
      entry.keys += 1;
      if (isUsable(JSON.parse(row.record) as KeyRecord, nowMs)) entry.usableKeys += 1;
      counts.set(row.tenant_id, entry);
    }
    return [...counts.values()];
  }

  // The tenant index (src/audit/tenant-index.ts), kept by the `tenant-index` instance only.
  async indexTenant(tenantId: string, state: { overridden: boolean; keysWithPolicies: number }): Promise<void> {
    recordTenant(this.ctx.storage.sql, tenantId, state, this.clock());
  }

  async adoptTenant(tenantId: string, state: { overridden: boolean; keysWithPolicies: number }): Promise<void> {
    adoptTenant(this.ctx.storage.sql, tenantId, state);
  }

  async indexedTenant(tenantId: string): Promise<IndexedTenant | null> {
    return findTenant(this.ctx.storage.sql, tenantId);
  }

  async indexedTenants(after: string, limit: number): Promise<IndexedTenant[]> {
    return listTenants(this.ctx.storage.sql, after, limit);
  }

  /** Ends due grace periods, then copies unsynced rows into KV and their revocations into the tenant's limiter. */
  override async alarm(): Promise<void> {
    const nowMs = this.clock();
    const sql = this.ctx.storage.sql;
    for (const row of sql.exec<Row>("SELECT hash, record, version FROM keys WHERE deadline <= ?", nowMs).toArray()) {
      const { hash, record } = stored(row);
      this.write(hash, { ...record, revokedAt: record.revokedAt ?? record.graceUntil ?? new Date(nowMs).toISOString() }, false);
    }
    let failed = false;
    // Each call out has the admin store deadline: a KV write or limiter call that never answers must not
    // hold the alarm (and with it the grace periods of every key in this shard); late is failed, retried.
    const { storeTimeoutMs } = parseAdminConfig(this.env as unknown as Record<string, unknown>);
    for (const row of sql.exec<Row>("SELECT hash, record, version FROM keys WHERE synced = 0 LIMIT ?", SYNC_BATCH).toArray()) {
      const { hash, record } = stored(row);
      try {
        const limiter = this.env.TENANT_LIMITER.getByName(record.tenantId);
        if (record.revokedAt !== null) await withDeadline(limiter.revokeKey(record.keyId), storeTimeoutMs);
        // A roll's successor keeps the old key's own policies (once; repeating is harmless).
        if (record.rolledFrom !== null && record.rolledFrom !== undefined) await withDeadline(limiter.inheritKeyPolicies(record.rolledFrom, record.keyId), storeTimeoutMs);
        await withDeadline(writeKeyToKv(this.env.KEYS, hash, record), storeTimeoutMs);
        // A change made while the write was under way keeps its row unsynced, for the next alarm.
        sql.exec("UPDATE keys SET synced = 1 WHERE hash = ? AND version = ?", hash, row.version);
      } catch {
        failed = true;
      }
    }
    const more = sql.exec<{ n: number }>("SELECT COUNT(*) AS n FROM keys WHERE synced = 0").one().n > 0;
    const next = sql.exec<{ d: number | null }>("SELECT MIN(deadline) AS d FROM keys").one().d;
    const retry = more ? nowMs + (failed ? SYNC_DELAY_MS : 0) : null;
    const at = [retry, next].filter((t): t is number => t !== null);
    if (at.length > 0) await this.ctx.storage.setAlarm(Math.min(...at));
  }

  /** Writes a row, unsynced, with a new version; `deadline` is the grace end the alarm must act on. Callers schedule the alarm. */
  private write(hash: string, record: KeyRecord, isNew: boolean, deadline: number | null = null): void {
    const sql = this.ctx.storage.sql;
    const json = JSON.stringify(record);
    if (isNew) sql.exec("INSERT INTO keys VALUES (?, ?, ?, ?, 1, 0, ?)", hash, record.tenantId, record.keyId, json, deadline);
    else sql.exec("UPDATE keys SET record = ?, version = version + 1, synced = 0, deadline = ? WHERE hash = ?", json, record.revokedAt === null ? deadline : null, hash);
  }

  /** Sets the alarm to the earlier of its current time, the sync delay and `deadline`. */
  private async scheduleAlarm(deadline: number | null): Promise<void> {
    const want = Math.min(this.clock() + SYNC_DELAY_MS, deadline ?? Infinity);
    const current = await this.ctx.storage.getAlarm();
    if (current === null || current > want) await this.ctx.storage.setAlarm(want);
  }

  /** A fresh key whose hash falls in this shard (1 in SHARD_COUNT does), so a roll is one transaction. */
  private async keyForThisShard(hashHere: string): Promise<{ key: string; hash: string }> {
    for (let i = 0; i < MAX_ROLL_ATTEMPTS; i++) {
      const key = generateIntegrationKey();
      const hash = await hashKey(key);
      if (hash.charAt(0) === hashHere.charAt(0)) return { key, hash };
    }
    throw new Error("no key for this shard after many attempts"); // (1 - 1/16)^1000: never, in practice
  }
}
