/**
 * The audit trail's storage: one SQLite table in each tenant's Durable Object, written and read by
 * TenantLimiter (`recordAudit`, `changePolicies`, `listAudit`) through these functions. Retention is
 * bounded: the newest MAX_ENTRIES entries, none older than MAX_AGE_MS; what it drops is counted, and every
 * page says how many entries were evicted and when the last one was, so a trail that was flushed shows it.
 * Pure SQL over `SqlStorage`, clock passed in, so tests can drive it directly.
 */
import { formatWindow, type Policy } from "../shared/policy";

export const MAX_ENTRIES = 1000;
export const MAX_AGE_MS = 90 * 86_400_000;
const MAX_PAGE = 100;

/** What was changed. */
export type AuditAction = "key.created" | "key.revoked" | "key.rolled" | "key.updated" | "rate-limit.set" | "rate-limit.reset" | "key-rate-limit.set" | "key-rate-limit.reset";

/** One change as recorded: who (the admin identity), what, on which key (if any), before and after. */
export interface AuditInput {
  actor: string;
  action: AuditAction;
  keyId: string | null;
  before: unknown;
  after: unknown;
  /** The gateway's own id of the request that made the change (never a client-chosen one). */
  requestId: string;
}

export interface AuditEntry extends AuditInput {
  /** Position in the trail: the cursor of the next page is the last entry's id. */
  id: number;
  at: string;
}

export interface AuditQuery {
  limit: number;
  /** Entries older than this id (the previous page's `nextCursor`); null for the newest. */
  before: number | null;
}

/** What retention keeps, and what it has dropped from this trail so far. */
export interface Retention {
  maxEntries: number;
  maxAgeDays: number;
  /** Entries dropped by either bound since the trail began. */
  evicted: number;
  /** When the oldest entry still kept was made (null: the trail is empty). */
  oldestKeptAt: string | null;
}

export interface AuditPage {
  data: AuditEntry[];
  nextCursor: string | null;
  retention: Retention;
}

/** A policy as every entry of the trail shows it: one shape, whoever's it is and whatever its mode. */
export interface TrailPolicy {
  name: string;
  limit: number;
  window: string;
  mode: "enforce" | "shadow";
  scope: "tenant" | "key";
}

/** `policies` in the trail's shape (null stays null: the default for a tenant, none for a key). */
export function trailPolicies(policies: readonly Policy[] | null, scope: "tenant" | "key"): TrailPolicy[] | null {
  return policies === null ? null : policies.map((p) => ({ name: p.name, limit: p.limit, window: formatWindow(p.windowSec), mode: p.mode ?? "enforce", scope }));
}

/**
 * A policy list as the trail shows it, also from entries written before the one shape: those had
 * `windowSec` (key policies) or no `mode` and `scope` (tenant policies, which were enforced unless shadow).
 */
function policyShape(action: AuditAction, value: unknown): unknown {
  if (!action.includes("rate-limit") || !Array.isArray(value)) return value;
  const scope = action.startsWith("key-") ? "key" : "tenant";
  return value.map((p: Partial<TrailPolicy> & { windowSec?: number }) => ({
    name: p.name,
    limit: p.limit,
    window: typeof p.window === "string" ? p.window : formatWindow(p.windowSec ?? 0),
    mode: p.mode ?? "enforce",
    scope: p.scope ?? scope,
  }));
}

type Row = { id: number; at: number; actor: string; action: string; key_id: string | null; before: string; after: string; request_id: string };

function ensureTables(sql: SqlStorage): void {
  sql.exec(`CREATE TABLE IF NOT EXISTS audit (id INTEGER PRIMARY KEY AUTOINCREMENT, at INTEGER NOT NULL, actor TEXT NOT NULL,
    action TEXT NOT NULL, key_id TEXT, before TEXT NOT NULL, after TEXT NOT NULL, request_id TEXT NOT NULL);
    CREATE TABLE IF NOT EXISTS audit_evictions (one INTEGER PRIMARY KEY CHECK (one = 1), evicted INTEGER NOT NULL);`);
}

/** Drops what retention no longer keeps at `nowMs` and counts it. */
function evict(sql: SqlStorage, nowMs: number): void {
  const newest = sql.exec<{ id: number | null }>("SELECT MAX(id) AS id FROM audit").one().id ?? 0;
  const bounds = [newest - MAX_ENTRIES, nowMs - MAX_AGE_MS];
  const dropped = sql.exec<{ n: number }>("SELECT COUNT(*) AS n FROM audit WHERE id <= ? OR at < ?", ...bounds).one().n;
  if (dropped === 0) return;
  sql.exec("DELETE FROM audit WHERE id <= ? OR at < ?", ...bounds);
  sql.exec("INSERT INTO audit_evictions VALUES (1, ?) ON CONFLICT DO UPDATE SET evicted = evicted + excluded.evicted", dropped);
}

/** Appends an entry at `nowMs` and drops what retention no longer keeps. Returns the stored entry. */
export function appendAudit(sql: SqlStorage, input: AuditInput, nowMs: number): AuditEntry {
  ensureTables(sql);
  const before = JSON.stringify(input.before ?? null);
  const after = JSON.stringify(input.after ?? null);
  const { id } = sql
    .exec<{ id: number }>("INSERT INTO audit (at, actor, action, key_id, before, after, request_id) VALUES (?, ?, ?, ?, ?, ?, ?) RETURNING id", nowMs, input.actor, input.action, input.keyId, before, after, input.requestId)
    .one();
  evict(sql, nowMs);
  return { ...input, id, at: new Date(nowMs).toISOString() };
}

/** A page of entries, newest first, the cursor of the next page (null on the last), and what retention dropped. */
export function listAudit(sql: SqlStorage, query: AuditQuery, nowMs: number): AuditPage {
  ensureTables(sql);
  const limit = Math.min(Math.max(query.limit, 1), MAX_PAGE);
  const rows = sql
    .exec<Row>("SELECT * FROM audit WHERE id < ? AND at >= ? ORDER BY id DESC LIMIT ?", query.before ?? Number.MAX_SAFE_INTEGER, nowMs - MAX_AGE_MS, limit + 1)
    .toArray();
  const page = rows.slice(0, limit).map((r) => ({
    id: r.id,
    at: new Date(r.at).toISOString(),
    actor: r.actor,
    action: r.action as AuditAction,
    keyId: r.key_id,
    before: policyShape(r.action as AuditAction, JSON.parse(r.before)),
    after: policyShape(r.action as AuditAction, JSON.parse(r.after)),
    requestId: r.request_id,
  }));
  return { data: page, nextCursor: rows.length > limit ? String(page[page.length - 1]?.id) : null, retention: retention(sql, nowMs) };
}

/**
 * Retention as of `nowMs`: entries past the age bound count as evicted as soon as they stop being listed,
 * though they are deleted only at the next write.
 */
function retention(sql: SqlStorage, nowMs: number): Retention {
  const cutoff = nowMs - MAX_AGE_MS;
  const stored = sql.exec<{ evicted: number }>("SELECT evicted FROM audit_evictions").toArray()[0]?.evicted ?? 0;
  const aged = sql.exec<{ n: number }>("SELECT COUNT(*) AS n FROM audit WHERE at < ?", cutoff).one().n;
  const oldest = sql.exec<{ at: number | null }>("SELECT MIN(at) AS at FROM audit WHERE at >= ?", cutoff).one().at;
  return { maxEntries: MAX_ENTRIES, maxAgeDays: MAX_AGE_MS / 86_400_000, evicted: stored + aged, oldestKeptAt: oldest === null ? null : new Date(oldest).toISOString() };
}
