/**
 * The tenant index's storage: one SQLite table in the key directory's `tenant-index` object (a KeyDirectory
 * instance that holds no keys, so the index needs no Durable Object class or migration of its own). A row
 * per tenant the admin API has changed: when, and the override state its limiter reported after the change
 * (key counts are not kept here: the directory's shards are their authority, read when tenants are listed).
 * Written by the admin API after every successful change (src/admin/tenant-index.ts); pure SQL over
 * `SqlStorage`, clock passed in, as src/audit/audit-log.ts.
 */

/** The object that holds the index (shards are `shard-0` … `shard-f`). */
export const TENANT_INDEX_NAME = "tenant-index";

export interface IndexedTenant {
  tenantId: string;
  /** The tenant has policies of its own (not the gateway default). */
  overridden: boolean;
  /** How many of its keys have policies of their own. */
  keysWithPolicies: number;
  /** The last admin change (ISO 8601); null for a tenant adopted from the authorities, changed before the index. */
  lastChangeAt: string | null;
}

type Row = { tenant_id: string; overridden: number; keys_with_policies: number; last_change_at: number | null };

function ensureTable(sql: SqlStorage): void {
  sql.exec(`CREATE TABLE IF NOT EXISTS tenant_index (tenant_id TEXT PRIMARY KEY, overridden INTEGER NOT NULL,
    keys_with_policies INTEGER NOT NULL, last_change_at INTEGER) WITHOUT ROWID`);
}

const indexed = (r: Row): IndexedTenant => ({ tenantId: r.tenant_id, overridden: r.overridden === 1, keysWithPolicies: r.keys_with_policies, lastChangeAt: r.last_change_at === null ? null : new Date(r.last_change_at).toISOString() });

/** Records a change to `tenantId` at `atMs` with its limiter's state after it. */
export function recordTenant(sql: SqlStorage, tenantId: string, state: { overridden: boolean; keysWithPolicies: number }, atMs: number): void {
  ensureTable(sql);
  sql.exec(
    "INSERT INTO tenant_index VALUES (?, ?, ?, ?) ON CONFLICT DO UPDATE SET overridden = excluded.overridden, keys_with_policies = excluded.keys_with_policies, last_change_at = MAX(COALESCE(last_change_at, 0), excluded.last_change_at)",
    tenantId,
    state.overridden ? 1 : 0,
    state.keysWithPolicies,
    atMs,
  );
}

/** Records a tenant found in the authorities but not here, with no time of last change; an existing row is kept. */
export function adoptTenant(sql: SqlStorage, tenantId: string, state: { overridden: boolean; keysWithPolicies: number }): void {
  ensureTable(sql);
  sql.exec("INSERT INTO tenant_index VALUES (?, ?, ?, NULL) ON CONFLICT DO NOTHING", tenantId, state.overridden ? 1 : 0, state.keysWithPolicies);
}

/** One tenant's row, or null. */
export function findTenant(sql: SqlStorage, tenantId: string): IndexedTenant | null {
  ensureTable(sql);
  const row = sql.exec<Row>("SELECT * FROM tenant_index WHERE tenant_id = ?", tenantId).toArray()[0];
  return row === undefined ? null : indexed(row);
}

/** Up to `limit` tenants after `after` (exclusive), in tenant id order. */
export function listTenants(sql: SqlStorage, after: string, limit: number): IndexedTenant[] {
  ensureTable(sql);
  return sql.exec<Row>("SELECT * FROM tenant_index WHERE tenant_id > ? ORDER BY tenant_id LIMIT ?", after, limit).toArray().map(indexed);
}
