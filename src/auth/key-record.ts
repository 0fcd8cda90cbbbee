/**
 * An integration key's record and the pure rules over it: when it may authenticate (to the millisecond, on
 * the caller's clock), what state the admin API reports, and which directory shard holds it. No I/O here.
 */
import { sha256Hex, toHex } from "../shared/sha256";
import type { AccessLevel } from "./principal";

export interface KeyRecord {
  keyId: string;
  tenantId: string;
  name: string;
  access: Record<string, AccessLevel>;
  createdAt: string;
  expiresAt: string | null;
  revokedAt: string | null;
  /** Set on a key that was rolled: the id of its successor, and the end of its grace period. */
  rolledTo?: string | null;
  graceUntil?: string | null;
  /** Set on a key made by a roll: the id of the key it replaces. */
  rolledFrom?: string | null;
}

export type KeyState = "active" | "rolling" | "revoked" | "expired";

/** Lowercase hex SHA-256 of a key: the only form in which a key is stored or compared. */
export function hashKey(key: string): Promise<string> {
  return sha256Hex(key);
}

/** Directory shards: the first hex digit of the key's SHA-256 (docs/authentication.md, "where they live"). */
export const SHARD_COUNT = 16;

// An unreadable date counts as passed: a record that cannot be read is refused, not trusted.
const passed = (iso: string | null | undefined, nowMs: number) => iso !== null && iso !== undefined && !(Date.parse(iso) > nowMs);

/** The state at `nowMs`: a rolled key past its grace deadline counts as revoked, as it is refused like one. */
export function keyState(record: KeyRecord, nowMs: number): KeyState {
  if (record.revokedAt !== null || passed(record.graceUntil, nowMs)) return "revoked";
  if (passed(record.expiresAt, nowMs)) return "expired";
  return record.graceUntil !== null && record.graceUntil !== undefined ? "rolling" : "active";
}

/** True when the record may authenticate at `nowMs`: active, or rolling and inside its grace period. */
export function isUsable(record: KeyRecord, nowMs: number): boolean {
  const state = keyState(record, nowMs);
  return state === "active" || state === "rolling";
}

/** The record as the admin API lists it: every field present, and its state. */
export function listedRecord(record: KeyRecord, nowMs: number): Required<KeyRecord> & { state: KeyState } {
  return { rolledTo: null, graceUntil: null, rolledFrom: null, ...record, state: keyState(record, nowMs) };
}

/** The name of the directory shard for a key hash (lowercase hex). */
export function shardForHash(hash: string): string {
  return `shard-${hash.charAt(0)}`;
}

/**
 * The shard holding a key id, when the id was made by `newKeyId` (its first hex digit is its hash's); keys
 * made before the directory existed have random ids, and are found through their KV index entry instead.
 */
export function shardForKeyId(keyId: string): string {
  return `shard-${keyId.charAt(4)}`;
}

/** A new key id for a key hash: `key_` + the hash's shard digit + 15 random hex digits. */
export function newKeyId(hash: string): string {
  const random = toHex(crypto.getRandomValues(new Uint8Array(8)));
  return `key_${hash.charAt(0)}${random.slice(1)}`;
}
