/**
 * One Durable Object per tenant: the single authority for that tenant's admissions, so every isolate in
 * every location draws on one count. Isolates do not ask it per request: they lease permits
 * (lease-ledger.ts) and come back when a lease runs out or ends, which is also how they learn of revoked
 * keys and changed policies. Bucket counts are written through to the object's SQLite storage, so an
 * evicted or restarted object never forgets an admission; lease records live in memory only, since losing
 * one only means its unused permits stay counted (under-admission, never over-admission).
 */
import { DurableObject } from "cloudflare:workers";
import { appendAudit, listAudit, type AuditEntry, type AuditInput, type AuditPage, type AuditQuery } from "../admin/audit-log";
import { countsOf, forgetOldLeases, newLedger, settleExchange, type LeaseReport } from "./lease-ledger";
import type { Policy } from "./policy";
import { evaluate, oldestLiveBucket, prune, type PolicyState, type TouchedBucket } from "./sliding-window";

/** One lease exchange: reports on finished leases, and a request for more permits. */
export interface LeaseRequest {
  /** A random id of the asking isolate: the object shares its headroom among the isolates it sees. */
  holderId: string;
  want: number;
  ttlMs: number;
  /** The gateway's default policies, used unless the tenant has an override. */
  defaults: Policy[];
  reports: LeaseReport[];
  /** The last revocation the isolate knows of (0: none yet). */
  revocationCursor: number;
}

export interface LeaseAnswer {
  /** The object's clock at the decision, so the isolate can state times in its frame. */
  nowMs: number;
  /** The lease, or null when a policy refused. */
  lease: { id: string; permits: number; ttlMs: number } | null;
  /** Every policy's state after the decision (the leased permits counted as used). */
  states: PolicyState[];
  violated: PolicyState | null;
  /** Key ids revoked after the isolate's cursor, and the new cursor. */
  revoked: string[];
  revocationCursor: number;
}

export interface LimiterStatus {
  /** The limiter's clock, so reset times are stated in its frame. */
  nowMs: number;
  overridden: boolean;
  policies: Policy[];
  states: PolicyState[];
}

/** On an isolate's first exchange: revocations of the last day (older ones are in every KV replica and key cache). */
const FIRST_CONTACT_REVOCATIONS_MS = 86_400_000;
const MAX_REVOCATIONS_SENT = 5_000;

export class TenantLimiter extends DurableObject<Env> {
  /** The clock; tests replace it through runInDurableObject to move time exactly. */
  clock: () => number = () => Date.now();
  private readonly ledger = newLedger();
  /** Revoked key ids with their sequence number (the row id) and time. */
  private readonly revoked = new Map<string, { seq: number; atMs: number }>();
  private lastRevocation = 0;
  private override: Policy[] | null = null;

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    const sql = ctx.storage.sql;
    sql.exec(`CREATE TABLE IF NOT EXISTS buckets (window_sec INTEGER, bucket INTEGER, count INTEGER, PRIMARY KEY (window_sec, bucket)) WITHOUT ROWID;
      CREATE TABLE IF NOT EXISTS revoked_keys (key_id TEXT PRIMARY KEY, revoked_at INTEGER);
      CREATE TABLE IF NOT EXISTS settings (name TEXT PRIMARY KEY, value TEXT);`);
    for (const row of sql.exec<{ window_sec: number; bucket: number; count: number }>("SELECT window_sec, bucket, count FROM buckets")) {
      countsOf(this.ledger, row.window_sec).set(row.bucket, row.count);
    }
    for (const row of sql.exec<{ seq: number; key_id: string; revoked_at: number }>("SELECT rowid AS seq, key_id, revoked_at FROM revoked_keys ORDER BY rowid")) {
      this.revoked.set(row.key_id, { seq: row.seq, atMs: row.revoked_at });
      this.lastRevocation = Math.max(this.lastRevocation, row.seq);
    }
    const saved = sql.exec<{ value: string }>("SELECT value FROM settings WHERE name = 'policies'").toArray()[0];
    this.override = saved === undefined ? null : (JSON.parse(saved.value) as Policy[]);
  }

  /** Writes changed buckets through to storage (an emptied bucket is deleted). */
  private persist(touched: TouchedBucket[]): void {
    const sql = this.ctx.storage.sql;
    for (const t of touched) {
      if (t.count === 0) sql.exec("DELETE FROM buckets WHERE window_sec = ? AND bucket = ?", t.windowSec, t.bucket);
      else sql.exec("INSERT INTO buckets VALUES (?, ?, ?) ON CONFLICT DO UPDATE SET count = excluded.count", t.windowSec, t.bucket, t.count);
    }
  }

  /**
   * Drops every bucket that can no longer be counted, in memory and in storage, so each window keeps at
   * most B+1 past buckets (plus the few a lease records ahead); windows a policy change left behind empty
   * out and are forgotten.
   */
  private pruneAll(nowMs: number): void {
    for (const [windowSec, counts] of this.ledger.windows) {
      if (prune(counts, windowSec, nowMs).length > 0) {
        this.ctx.storage.sql.exec("DELETE FROM buckets WHERE window_sec = ? AND bucket < ?", windowSec, oldestLiveBucket(windowSec, nowMs));
      }
      if (counts.size === 0) this.ledger.windows.delete(windowSec);
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

  /** One lease exchange (lease-ledger.ts decides it), written through, with the revocations the isolate has not seen. */
  async exchange(req: LeaseRequest): Promise<LeaseAnswer> {
    const nowMs = this.clock();
    const decision = settleExchange(this.ledger, this.override ?? req.defaults, req, nowMs);
    this.persist(decision.touched);
    if (decision.lease !== null) this.pruneAll(nowMs);
    return {
      nowMs,
      lease: decision.lease,
      states: decision.states,
      violated: decision.violated,
      revoked: this.revocationsAfter(req.revocationCursor, nowMs),
      revocationCursor: this.lastRevocation,
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

  /** Sets the tenant's policies (null: back to the gateway default). Every lease granted from now on uses them. */
  async setPolicies(policies: Policy[] | null): Promise<void> {
    this.override = policies;
    if (policies === null) this.ctx.storage.sql.exec("DELETE FROM settings WHERE name = 'policies'");
    else this.ctx.storage.sql.exec("INSERT INTO settings VALUES ('policies', ?) ON CONFLICT DO UPDATE SET value = excluded.value", JSON.stringify(policies));
  }

  /** The effective policies and current usage (leased permits counted as used), without counting anything. */
  async status(defaults: Policy[]): Promise<LimiterStatus> {
    const nowMs = this.clock();
    const policies = this.override ?? defaults;
    return { nowMs, overridden: this.override !== null, policies, states: policies.map((p) => evaluate(p, countsOf(this.ledger, p.windowSec), nowMs)) };
  }

  /** Appends one admin change to this tenant's audit trail (storage and retention: src/admin/audit-log.ts). */
  async recordAudit(entry: AuditInput): Promise<AuditEntry> {
    return appendAudit(this.ctx.storage.sql, entry, this.clock());
  }

  /** A page of this tenant's audit trail, newest first. */
  async listAudit(query: AuditQuery): Promise<AuditPage> {
    return listAudit(this.ctx.storage.sql, query, this.clock());
  }
}
