/**
 * The KV layout of integration keys, KV being the replicated read cache of the key directory:
 * `key:<sha256>` → the record. Keys made before the directory existed also have a per-tenant index entry,
 * `tenant:<id>:key:<keyId>` → the record and its hash, which the admin API reads to find (and adopt into
 * the directory) a key the directory does not know yet.
 */
import { StoreUnavailable } from "../shared/unavailable";
import type { KeyRecord } from "./key-record";

const recordName = (hash: string) => `key:${hash}`;
const indexPrefix = (tenantId: string) => `tenant:${tenantId}:key:`;

/** A KV binding call, whose rejection is KV's failure (StoreUnavailable), not a bug in the gateway. */
async function fromKv<T>(call: Promise<T>): Promise<T> {
  try {
    return await call;
  } catch (err) {
    throw new StoreUnavailable(`kv: ${String(err)}`);
  }
}

/** The cached record for a key hash, or null when this KV replica has none; a binding that throws rejects. */
export async function readKeyFromKv(kv: KVNamespace, hash: string): Promise<KeyRecord | null> {
  return await kv.get<KeyRecord>(recordName(hash), "json");
}

/** Writes a record (always the directory's current one) to KV; a failed write rejects with StoreUnavailable. */
export async function writeKeyToKv(kv: KVNamespace, hash: string, record: KeyRecord): Promise<void> {
  await fromKv(kv.put(recordName(hash), JSON.stringify(record)));
}

/**
 * A key made before the directory, by tenant and id, from its KV index entry; null when there is none.
 * A failed read rejects with StoreUnavailable; the caller sets the deadline.
 */
export async function legacyKey(kv: KVNamespace, tenantId: string, keyId: string): Promise<{ hash: string; record: KeyRecord } | null> {
  const entry = await fromKv(kv.get<KeyRecord & { hash: string }>(`${indexPrefix(tenantId)}${keyId}`, "json"));
  if (entry === null) return null;
  const { hash, ...record } = entry;
  return { hash, record };
}

/** Every key of a tenant made before the directory (never their hashes); a failed read rejects with StoreUnavailable. */
export async function legacyKeys(kv: KVNamespace, tenantId: string): Promise<KeyRecord[]> {
  const out: KeyRecord[] = [];
  let cursor: string | undefined;
  do {
    const page = await fromKv(kv.list({ prefix: indexPrefix(tenantId), ...(cursor !== undefined ? { cursor } : {}) }));
    const values = await fromKv(Promise.all(page.keys.map((k) => kv.get<KeyRecord & { hash: string }>(k.name, "json"))));
    for (const v of values) {
      if (v === null) continue;
      const { hash: _hash, ...record } = v; // the hash never leaves the store
      out.push(record);
    }
    cursor = page.list_complete ? undefined : page.cursor;
  } while (cursor !== undefined);
  return out;
}
