/**
 * Integration key records in KV, addressed by the key's SHA-256 (the plaintext is never stored), plus a
 * per-tenant index for listing and revoking by key id. Lookups are cached in the isolate, negative results
 * too but briefly, so a burst of requests costs one KV read. Revocation does not wait for this cache: the
 * tenant's Durable Object holds the revoked key ids and is consulted on every admitted request.
 */
import type { AccessLevel } from "./principal";

export interface KeyRecord {
  keyId: string;
  tenantId: string;
  name: string;
  access: Record<string, AccessLevel>;
  createdAt: string;
  expiresAt: string | null;
  revokedAt: string | null;
}

/** How long a found record / a miss is trusted in an isolate. README: "Key cache and revocation". */
export const POSITIVE_TTL_MS = 30_000;
export const NEGATIVE_TTL_MS = 5_000;
const MAX_CACHED = 10_000;

const cache = new Map<string, { record: KeyRecord | null; until: number }>();

const recordKey = (hash: string) => `key:${hash}`;
const indexPrefix = (tenantId: string) => `tenant:${tenantId}:key:`;

/** The record for a key hash, from the isolate cache or KV; null when unknown. */
export async function findKey(kv: KVNamespace, hash: string, now = Date.now()): Promise<KeyRecord | null> {
  const hit = cache.get(hash);
  if (hit !== undefined && hit.until > now) return hit.record;
  const record = await kv.get<KeyRecord>(recordKey(hash), "json");
  if (cache.size >= MAX_CACHED) cache.delete(cache.keys().next().value as string);
  cache.set(hash, { record, until: now + (record === null ? NEGATIVE_TTL_MS : POSITIVE_TTL_MS) });
  return record;
}

/** True when the record may authenticate at `now`: not revoked, not expired. */
export function isUsable(record: KeyRecord, now = Date.now()): boolean {
  return record.revokedAt === null && (record.expiresAt === null || Date.parse(record.expiresAt) > now);
}

/** Stores a new key: the record under its hash and the tenant index entry (which also keeps the hash). */
export async function putKey(kv: KVNamespace, hash: string, record: KeyRecord): Promise<void> {
  await kv.put(recordKey(hash), JSON.stringify(record));
  await kv.put(`${indexPrefix(record.tenantId)}${record.keyId}`, JSON.stringify({ ...record, hash }));
}

/** A tenant's keys (never their hashes), oldest first. */
export async function listKeys(kv: KVNamespace, tenantId: string): Promise<KeyRecord[]> {
  const out: KeyRecord[] = [];
  let cursor: string | undefined;
  do {
    const page = await kv.list({ prefix: indexPrefix(tenantId), ...(cursor !== undefined ? { cursor } : {}) });
    const values = await Promise.all(page.keys.map((k) => kv.get<KeyRecord & { hash: string }>(k.name, "json")));
    for (const v of values) {
      if (v === null) continue;
      const { hash: _hash, ...record } = v; // the hash never leaves the store
      out.push(record);
    }
    cursor = page.list_complete ? undefined : page.cursor;
  } while (cursor !== undefined);
  return out.sort((a, b) => a.createdAt.localeCompare(b.createdAt));
}

/** Marks a key revoked in KV (index and record). Returns the updated record, or null for an unknown key id. */
export async function revokeKeyRecord(kv: KVNamespace, tenantId: string, keyId: string, now = new Date()): Promise<KeyRecord | null> {
  const entry = await kv.get<KeyRecord & { hash: string }>(`${indexPrefix(tenantId)}${keyId}`, "json");
  if (entry === null) return null;
  const { hash, ...record } = entry;
  const revoked: KeyRecord = { ...record, revokedAt: record.revokedAt ?? now.toISOString() };
  await putKey(kv, hash, revoked);
  cache.delete(hash);
  return revoked;
}
