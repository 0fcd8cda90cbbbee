/**
 * One Durable Object per tenant: the single authority for that tenant's admissions, so every isolate in
 * every location draws on one count. Isolates do not ask it per request: they lease permits
 * (lease-ledger.ts) and come back when a lease runs out or ends, which is also how they learn of revoked
 * keys, changed policies and which keys have policies of their own. It holds the tenant's policies and those of its keys that have their own.
 * Bucket counts are written through to the object's SQLite storage, so an evicted or restarted object never
 * forgets an admission; lease records live in memory only, since losing one only means its unused permits
 * stay counted (under-admission, never over-admission).
 */
import { DurableObject } from "cloudflare:workers";
import { appendAudit, listAudit, trailPolicies, type AuditEntry, type AuditInput, type AuditPage, type AuditQuery, type TrailPolicy } from "../audit/audit-log";
import { counterOf, forgetOldLeases, newLedger, policyCounter, settleExchange } from "./lease-ledger";
import { decodeLeaseRequest, encodeLeaseAnswer, type LeaseAnswer, type LeaseRequest, type LimiterStatus } from "./limiter-protocol";
import type { Policy } from "../shared/policy";
import { evaluate, oldestLiveBucket, prune, type TouchedBucket } from "./sliding-window";

/** On an isolate's first exchange: revocations of the last day (older ones are in every KV replica and key cache). */
const FIRST_CONTACT_REVOCATIONS_MS = 86_400_000;
const MAX_REVOCATIONS_SENT = 5_000;
const KEY_SETTING = "key:";
/**
 * Writes buckets' counts, given as one JSON array of [store, bucket, count]: one bound value whatever the number
 * of rows. workerd binds each value at ~4.4 k instructions, so three per bucket cost more than SQLite's reading
 * the array (~18 k) once an exchange writes two buckets or more, as most do (docs/benchmarks.md, "1,000 tenants").
 */
const UPSERT_COUNTS = "INSERT INTO counts SELECT value ->> 0, value ->> 1, value ->> 2 FROM json_each(?) WHERE true ON CONFLICT DO UPDATE SET count = excluded.count";
/**
 * Rows of buckets that left the span a counter may leave in storage before they are deleted: a sparse tenant
 * drops a bucket on most exchanges, and a `DELETE` each time (~36 k instructions) cost half as much as the
 * exchange's write. Such rows are never counted (a decision counts buckets from k-B on only); an object that
 * starts again reads them back and drops them from memory at its next grant.
 */
export const STALE_ROWS = 64;

/** What an admin policy change did, in the audit trail's shape. */
export interface PolicyChange {
  changed: boolean;
  before: TrailPolicy[] | null;
  after: TrailPolicy[] | null;
}

export class TenantLimiter extends DurableObject<Env> {
  /** The clock; tests replace it through runInDurableObject to move time exactly. */
  clock: () => number = () => Date.now();
  private readonly ledger = newLedger();
  /** Revoked key ids with their sequence number (the row id) and time. */
  private readonly revoked = new Map<string, { seq: number; atMs: number }>();
  private lastRevocation = 0;
  private override: Policy[] | null = null;
  private readonly keyPolicies = new Map<string, Policy[]>();
  /** Per counter (store key): rows of buckets pruned from memory and not yet deleted from storage. */
  private readonly staleRows = new Map<string, number>();
  /** The version of the keys-with-their-own-policies list: isolates that know an older one are sent the list. */
  private keysEpoch = 0;

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    const sql = ctx.storage.sql;
    sql.exec(`CREATE TABLE IF NOT EXISTS counts (store TEXT, bucket INTEGER, count INTEGER, PRIMARY KEY (store, bucket)) WITHOUT ROWID;
      CREATE TABLE IF NOT EXISTS revoked_keys (key_id TEXT PRIMARY KEY, revoked_at INTEGER);
      CREATE TABLE IF NOT EXISTS settings (name TEXT PRIMARY KEY, value TEXT);`);
    // Objects written before per-key policies kept one table of tenant buckets per window.
    if (sql.exec("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'buckets'").toArray().length > 0) {
      sql.exec("INSERT OR IGNORE INTO counts SELECT 'tenant#' || window_sec, bucket, count FROM buckets; DROP TABLE buckets;");
    }
    // Emptied buckets are written as 0 (persist); a counter this object no longer keeps would never prune them.
    sql.exec("DELETE FROM counts WHERE count = 0");
    for (const row of sql.exec<{ store: string; bucket: number; count: number }>("SELECT store, bucket, count FROM counts")) {
      counterOf(this.ledger, row.store).counts.set(row.bucket, row.count);
    }
    for (const row of sql.exec<{ seq: number; key_id: string; revoked_at: number }>("SELECT rowid AS seq, key_id, revoked_at FROM revoked_keys ORDER BY rowid")) {
      this.revoked.set(row.key_id, { seq: row.seq, atMs: row.revoked_at });
      this.lastRevocation = Math.max(this.lastRevocation, row.seq);
    }
    for (const row of sql.exec<{ name: string; value: string }>("SELECT name, value FROM settings")) {
      if (row.name === "policies") this.override = JSON.parse(row.value) as Policy[];
      else if (row.name === "keysEpoch") this.keysEpoch = Number(row.value);
      else if (row.name.startsWith(KEY_SETTING)) this.keyPolicies.set(row.name.slice(KEY_SETTING.length), JSON.parse(row.value) as Policy[]);
    }
  }

  /** The tenant's policies, then the key's own, each marked with its scope. */
  private policiesFor(defaults: Policy[], keyId: string | null): Policy[] {
    const tenant = (this.override ?? defaults).map((p) => ({ ...p, scope: "tenant" as const }));
    const own = keyId === null ? undefined : this.keyPolicies.get(keyId);
    return own === undefined ? tenant : [...tenant, ...own.map((p) => ({ ...p, scope: "key" as const }))];
  }

  /**
   * Writes changed buckets through to storage, each bucket's last count once, in one statement: an exchange
   * that applies a report and grants a lease touches two or three buckets (often one twice), and a statement
   * costs the object more than the rows it writes. An emptied bucket is written as 0 and deleted with the
   * buckets that leave the span (`pruneAll`), or when the object starts.
   */
  private persist(touched: TouchedBucket[]): void {
    if (touched.length === 0) return;
    const last = new Map<string, [string, number, number]>();
    for (const t of touched) last.set(`${t.bucket}#${t.store}`, [t.store, t.bucket, t.count]);
    this.ctx.storage.sql.exec(UPSERT_COUNTS, JSON.stringify([...last.values()]));
  }

  /**
   * Drops every bucket that can no longer be counted from memory, so each counter keeps at most B+1 past
   * buckets (plus the few a lease records ahead), and from storage once STALE_ROWS of them have gathered there;
   * counters a policy change left behind empty out and are forgotten, with every row they left in storage
   * (emptied buckets written as 0 included).
   */
  private pruneAll(nowMs: number): void {
    const sql = this.ctx.storage.sql;
    for (const [store, counter] of this.ledger.counters) {
      const dropped = prune(counter.counts, counter.windowSec, nowMs).length;
      if (counter.counts.size === 0) {
        this.ledger.counters.delete(store);
        this.staleRows.delete(store);
        sql.exec("DELETE FROM counts WHERE store = ?", store);
      } else if (dropped > 0) {
        const stale = (this.staleRows.get(store) ?? 0) + dropped;
        if (stale < STALE_ROWS) this.staleRows.set(store, stale);
        else {
          this.staleRows.delete(store);
          sql.exec("DELETE FROM counts WHERE store = ? AND bucket < ?", store, oldestLiveBucket(counter.windowSec, nowMs));
        }
      }
    }
    forgetOldLeases(this.ledger, nowMs);
  }

  /** Revocations after `cursor` (on first contact: those of the last day), oldest first. */
  private revocationsAfter(cursor: number, nowMs: number): string[] {
    if (cursor >= this.lastRevocation) return [];
    const out: string[] = [];
    for (const [keyId, { seq, atMs }] of this.revoked) {
      if (seq > cursor && (cursor > 0 || atMs > nowMs - FIRST_CONTACT_REVOCATIONS_MS)) out.push(keyId);
    }
    return out.slice(-MAX_REVOCATIONS_SENT);
  }

  /**
   * One lease exchange, in its wire form (limiter-protocol.ts: a LeaseRequest's JSON text in, a LeaseAnswer's
   * out): lease-ledger.ts decides it, written through, with the revocations the isolate has not seen. A request
   * sent as an object, as isolates of the version before the wire form send it while a deployment rolls out
   * (objects restart on the new code at once, isolates may not), is answered as an object.
   */
  async exchange(request: string | LeaseRequest): Promise<string | LeaseAnswer> {
    return typeof request === "string" ? encodeLeaseAnswer(this.settle(decodeLeaseRequest(request))) : this.settle(request);
  }

  private settle(req: LeaseRequest): LeaseAnswer {
    const nowMs = this.clock();
    const decision = settleExchange(this.ledger, this.policiesFor(req.defaults, req.keyId), req, nowMs);
    this.persist(decision.touched);
    if (decision.lease !== null) this.pruneAll(nowMs);
    return {
      nowMs,
      lease: decision.lease,
      states: decision.states,
      violated: decision.violated,
      shadowRemaining: decision.shadow.map((s) => ({ name: s.policy.name, remaining: s.remaining })),
      revoked: this.revocationsAfter(req.revocationCursor, nowMs),
      revocationCursor: this.lastRevocation,
      keyScopes: req.keysEpoch === this.keysEpoch ? null : { epoch: this.keysEpoch, keys: [...this.keyPolicies.keys()] },
    };
  }

  /** Makes a key unusable: every isolate learns of it at its next exchange, within one lease's life. */
  async revokeKey(keyId: string): Promise<void> {
    if (this.revoked.has(keyId)) return;
    const atMs = this.clock();
    const row = this.ctx.storage.sql.exec<{ seq: number }>("INSERT INTO revoked_keys VALUES (?, ?) RETURNING rowid AS seq", keyId, atMs).one();
    this.revoked.set(keyId, { seq: row.seq, atMs });
    this.lastRevocation = row.seq;
  }

  /**
   * Sets the tenant's policies (null: back to the gateway default) without an audit entry: for tests and
   * tools that drive the object directly; the admin API changes policies through `changePolicies`.
   */
  async setPolicies(policies: Policy[] | null): Promise<void> {
    this.applyPolicies(null, policies);
  }

  /**
   * An admin policy change (the tenant's with `keyId` null, else the key's own) and its audit entry in one
   * step, with no wait in between: `before` and `after` are exactly what this change replaced and produced,
   * whatever other changes arrive at once. A change that leaves the policies as they were records nothing.
   */
  async changePolicies(keyId: string | null, policies: Policy[] | null, entry: Omit<AuditInput, "before" | "after" | "keyId">): Promise<PolicyChange> {
    const scope = keyId === null ? "tenant" : "key";
    const before = trailPolicies(keyId === null ? this.override : (this.keyPolicies.get(keyId) ?? null), scope);
    const after = trailPolicies(policies, scope);
    if (JSON.stringify(before) === JSON.stringify(after)) return { changed: false, before, after };
    this.ctx.storage.transactionSync(() => {
      this.applyPolicies(keyId, policies);
      appendAudit(this.ctx.storage.sql, { ...entry, keyId, before, after }, this.clock());
    });
    return { changed: true, before, after };
  }

  /** A rolled key's own policies copied to its successor, once: repeating it (the directory's alarm does) changes nothing. */
  async inheritKeyPolicies(fromKeyId: string, toKeyId: string): Promise<TrailPolicy[] | null> {
    const marker = `inherited:${toKeyId}`;
    if (this.ctx.storage.sql.exec("SELECT 1 FROM settings WHERE name = ?", marker).toArray().length === 0) {
      this.ctx.storage.transactionSync(() => {
        const own = this.keyPolicies.get(fromKeyId);
        if (own !== undefined && !this.keyPolicies.has(toKeyId)) this.applyPolicies(toKeyId, own);
        this.saveSetting(marker, fromKeyId);
      });
    }
    return trailPolicies(this.keyPolicies.get(toKeyId) ?? null, "key");
  }

  private applyPolicies(keyId: string | null, policies: Policy[] | null): void {
    if (keyId === null) this.override = policies;
    else if (policies === null) this.keyPolicies.delete(keyId);
    else this.keyPolicies.set(keyId, policies);
    this.saveSetting(keyId === null ? "policies" : `${KEY_SETTING}${keyId}`, policies);
    if (keyId === null) return;
    // A new version (never one an isolate could already hold, even after a restart), so every isolate learns
    // at its next exchange whether this key's permits are leased apart.
    this.keysEpoch = Math.max(this.keysEpoch + 1, this.clock());
    this.saveSetting("keysEpoch", this.keysEpoch);
  }

  private saveSetting(name: string, value: unknown): void {
    if (value === null) this.ctx.storage.sql.exec("DELETE FROM settings WHERE name = ?", name);
    else this.ctx.storage.sql.exec("INSERT INTO settings VALUES (?, ?) ON CONFLICT DO UPDATE SET value = excluded.value", name, JSON.stringify(value));
  }

  /**
   * The policies that apply (the tenant's, and with `keyId` the key's own) and their usage, leased permits
   * counted as used, without counting anything. `scope: "key"` reads the key's own policies only.
   */
  async status(defaults: Policy[], keyId: string | null = null, scope: "all" | "key" = "all"): Promise<LimiterStatus> {
    const nowMs = this.clock();
    const all = this.policiesFor(defaults, keyId);
    const policies = scope === "key" ? all.filter((p) => p.scope === "key") : all;
    return {
      nowMs,
      overridden: scope === "key" ? keyId !== null && this.keyPolicies.has(keyId) : this.override !== null,
      policies,
      states: policies.map((p) => evaluate(p, policyCounter(this.ledger, p, keyId).counts, nowMs)),
      keysWithPolicies: [...this.keyPolicies.keys()].sort(),
    };
  }

  /** Appends one admin change to this tenant's audit trail (storage and retention: src/audit/audit-log.ts). */
  async recordAudit(entry: AuditInput): Promise<AuditEntry> {
    return appendAudit(this.ctx.storage.sql, entry, this.clock());
  }

  /** A page of this tenant's audit trail, newest first. */
  async listAudit(query: AuditQuery): Promise<AuditPage> {
    return listAudit(this.ctx.storage.sql, query, this.clock());
  }
}
