/**
 * Integration key lookups in an isolate: two bounded caches in front of KV, and the key directory behind it.
 * Found records are cached for 30 s, refusals not: each request checks the record's expiry, grace deadline
 * and revocation against the clock, and revocations arrive through the tenant's lease exchange
 * (revoked-keys.ts). A KV miss is confirmed with the directory before it becomes a miss, so a key created a
 * moment ago elsewhere works here on its first request; a confirmed miss goes to a cache of its own, so no
 * number of made-up keys can evict a real key's record. Concurrent lookups of one uncached hash share one
 * KV read (and directory call), so a burst of requests with a new key costs one of each per isolate.
 */
import { GatewayError } from "../errors";
import type { KeyDirectory } from "./key-directory";
import { readKeyFromKv } from "./key-kv";
import { shardForHash, type KeyRecord } from "./key-record";
import { remember } from "../shared/bounded-map";
import { isUnavailable } from "../shared/unavailable";
import { withDeadline } from "../shared/with-deadline";

/** How long a found record / a confirmed miss is trusted in an isolate (docs/authentication.md, "where they live"). */
export const POSITIVE_TTL_MS = 30_000;
export const NEGATIVE_TTL_MS = 5_000;
const MAX_POSITIVE = 10_000;
const MAX_NEGATIVE = 10_000;

export interface KeyStores {
  kv: KVNamespace;
  directory: DurableObjectNamespace<KeyDirectory>;
  /** The longest a request waits for KV (KEY_KV_TIMEOUT_MS); a late read is a failed one. */
  kvTimeoutMs: number;
  /** The longest a request waits for the directory on a KV miss (KEY_DIRECTORY_TIMEOUT_MS). */
  directoryTimeoutMs: number;
}

const positive = new Map<string, { record: KeyRecord; until: number }>();
const negative = new Map<string, number>();
let clock: () => number = () => Date.now();

/** Replaces the clock of key checks and caches (tests move time exactly); null restores the real one. */
export function setKeyClock(now: (() => number) | null): void {
  clock = now ?? (() => Date.now());
}

/** The clock key checks use. */
export function keyNow(): number {
  return clock();
}

/** What this isolate knows of a key hash without any I/O: its record, null (a confirmed miss), or undefined. */
export function cachedKey(hash: string, nowMs: number): KeyRecord | null | undefined {
  const hit = positive.get(hash);
  if (hit !== undefined && hit.until > nowMs) return hit.record;
  const missUntil = negative.get(hash);
  if (missUntil !== undefined && missUntil > nowMs) return null;
  return undefined;
}

function cacheKey(hash: string, record: KeyRecord, nowMs: number): void {
  negative.delete(hash);
  remember(positive, MAX_POSITIVE, hash, { record, until: nowMs + POSITIVE_TTL_MS });
}

/** Drops a hash from both caches (after a revocation: the next request reads the record again). */
export function forgetKey(hash: string): void {
  positive.delete(hash);
  negative.delete(hash);
}

/** A lookup's answer and the store that gave it: KV, or the key directory when KV had no record. */
export interface KeyLookup {
  record: KeyRecord | null;
  source: "kv" | "directory";
}

/** Lookups under way, by key hash: a request that finds one waits for it rather than reading again. */
const inflight = new Map<string, Promise<KeyLookup>>();

/**
 * The record for a key hash from KV, else from the directory (null when neither knows it), and the store
 * that answered (for the request log). The result is
 * cached. KV is only the directory's cache: a KV read that fails or does not answer within
 * `stores.kvTimeoutMs` is a miss, confirmed with the directory like any other. A directory that is
 * unavailable (../shared/unavailable.ts) or does not answer within `stores.directoryTimeoutMs` is 503 (a
 * refusal would tell a valid new key it is unknown), never cached; any other error from the call is a bug,
 * thrown on as an exception (500, logged). A lookup of a hash already being looked up waits for that one: its promise is
 * made by the request that started it, and each waiting request resumes in its own context.
 */
export function lookUpKey(stores: KeyStores, hash: string, nowMs: number): Promise<KeyLookup> {
  let lookup = inflight.get(hash);
  if (lookup === undefined) {
    lookup = readKey(stores, hash, nowMs).finally(() => inflight.delete(hash));
    inflight.set(hash, lookup);
  }
  return lookup;
}

/** The record KV holds, or null when it has none, fails or is late (logged: the directory answers instead). */
async function readCache(stores: KeyStores, hash: string): Promise<KeyRecord | null> {
  try {
    return await withDeadline(readKeyFromKv(stores.kv, hash), stores.kvTimeoutMs);
  } catch (err) {
    console.warn(JSON.stringify({ level: "warn", msg: "key cache unavailable, asking the key directory", error: String(err) }));
    return null;
  }
}

async function readKey(stores: KeyStores, hash: string, nowMs: number): Promise<KeyLookup> {
  let record = await readCache(stores, hash);
  const source = record === null ? "directory" : "kv";
  if (record === null) {
    try {
      record = await withDeadline(stores.directory.getByName(shardForHash(hash)).lookup(hash), stores.directoryTimeoutMs);
    } catch (err) {
      if (!isUnavailable(err)) throw err; // a bug, ours or the directory's: an exception, not an outage
      throw new GatewayError("SERVICE_UNAVAILABLE", { headers: { "Retry-After": "1" }, logReason: `key directory unavailable: ${String(err)}` });
    }
  }
  if (record === null) remember(negative, MAX_NEGATIVE, hash, nowMs + NEGATIVE_TTL_MS);
  else cacheKey(hash, record, nowMs);
  return { record, source };
}
