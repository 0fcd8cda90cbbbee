/**
 * The audit trail's storage: one SQLite table in each tenant's Durable Object, written and read by
 * TenantLimiter's `recordAudit` / `listAudit` (two thin methods) through these functions. Retention is
 * bounded: the newest MAX_ENTRIES entries, none older than MAX_AGE_MS. Pure SQL over `SqlStorage`, clock
 * passed in, so tests can drive it directly.
 */

export const MAX_ENTRIES = 1000;
export const MAX_AGE_MS = 90 * 86_400_000;
const MAX_PAGE = 100;

/** What was changed. Issue 11 (roll) and issue 12 (per-key limits) record with the names reserved here. */
export type AuditAction = "key.created" | "key.revoked" | "key.rolled" | "key.updated" | "rate-limit.set" | "rate-limit.reset" | "key-rate-limit.set" | "key-rate-limit.reset";

/** One change as recorded: who (the admin identity), what, on which key (if any), before and after. */
export interface AuditInput {
  actor: string;
  action: AuditAction;
  keyId: string | null;
  before: unknown;
  after: unknown;
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

export interface AuditPage {
  data: AuditEntry[];
  nextCursor: string | null;
}

type Row = { id: number; at: number; actor: string; action: string; key_id: string | null; before: string; after: string; request_id: string };

function ensureTable(sql: SqlStorage): void {
  sql.exec(`CREATE TABLE IF NOT EXISTS audit (id INTEGER PRIMARY KEY AUTOINCREMENT, at INTEGER NOT NULL, actor TEXT NOT NULL,
    action TEXT NOT NULL, key_id TEXT, before TEXT NOT NULL, after TEXT NOT NULL, request_id TEXT NOT NULL)`);
}

/** Appends an entry at `nowMs` and drops what retention no longer keeps. Returns the stored entry. */
export function appendAudit(sql: SqlStorage, input: AuditInput, nowMs: number): AuditEntry {
  ensureTable(sql);
  const before = JSON.stringify(input.before ?? null);
  const after = JSON.stringify(input.after ?? null);
  const { id } = sql
    .exec<{ id: number }>("INSERT INTO audit (at, actor, action, key_id, before, after, request_id) VALUES (?, ?, ?, ?, ?, ?, ?) RETURNING id", nowMs, input.actor, input.action, input.keyId, before, after, input.requestId)
    .one();
  sql.exec("DELETE FROM audit WHERE id <= ? OR at < ?", id - MAX_ENTRIES, nowMs - MAX_AGE_MS);
  return { ...input, id, at: new Date(nowMs).toISOString() };
}

/** A page of entries, newest first, and the cursor of the next page (null on the last). */
export function listAudit(sql: SqlStorage, query: AuditQuery, nowMs: number): AuditPage {
  ensureTable(sql);
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
    before: JSON.parse(r.before) as unknown,
    after: JSON.parse(r.after) as unknown,
    requestId: r.request_id,
  }));
  return { data: page, nextCursor: rows.length > limit ? String(page[page.length - 1]?.id) : null };
}
