/**
 * One Durable Object per tenant: the single place where that tenant's admissions are decided, so every
 * isolate in every location sees one count. State lives in the object's SQLite storage (write-through on
 * each admission), so an evicted or restarted object resumes with its counts. It also holds the tenant's
 * policy override and its revoked integration keys, which makes a revocation effective on the very next
 * request: the gateway consults this object on every admitted request anyway.
 */
import { DurableObject } from "cloudflare:workers";
import { rateLimitHeaders } from "./headers";
import type { Policy } from "./policy";
import { decide, evaluate, oldestLiveBucket, prune, type BucketCounts, type PolicyState } from "./sliding-window";

export interface AdmitRequest {
  /** The integration key id, checked against the revocation list; null for JWT principals. */
  keyId: string | null;
  /** The gateway's default policies, used unless the tenant has an override. */
  defaults: Policy[];
}

/**
 * The answer to one admission. Kept flat and small on the common (admitted) path: it crosses the RPC
 * boundary on every request, and the per-policy states are only sent when a refusal needs them.
 */
export interface AdmitResult {
  allowed: boolean;
  revoked: boolean;
  nowMs: number;
  /** The smallest remaining quota across policies after this decision. */
  remaining: number;
  /** The RateLimit and RateLimit-Policy field values for the response (empty when revoked). */
  headers: Record<string, string>;
  /** Every policy's state: only on a refusal (for the 429 and the deny cache), else empty. */
  states: PolicyState[];
  violated: PolicyState | null;
}

export interface LimiterStatus {
  /** The limiter's clock, so reset times are stated in its frame. */
  nowMs: number;
  overridden: boolean;
  policies: Policy[];
  states: PolicyState[];
}

export class TenantLimiter extends DurableObject<Env> {
  /** The clock; tests replace it through runInDurableObject to move time exactly. */
  clock: () => number = () => Date.now();
  private readonly windows = new Map<number, BucketCounts>();
  private readonly revoked = new Set<string>();
  private override: Policy[] | null = null;

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    const sql = ctx.storage.sql;
    sql.exec(`CREATE TABLE IF NOT EXISTS buckets (window_sec INTEGER, bucket INTEGER, count INTEGER, PRIMARY KEY (window_sec, bucket)) WITHOUT ROWID;
      CREATE TABLE IF NOT EXISTS revoked_keys (key_id TEXT PRIMARY KEY, revoked_at INTEGER);
      CREATE TABLE IF NOT EXISTS settings (name TEXT PRIMARY KEY, value TEXT);`);
    for (const row of sql.exec<{ window_sec: number; bucket: number; count: number }>("SELECT window_sec, bucket, count FROM buckets")) {
      this.counts(row.window_sec).set(row.bucket, row.count);
    }
    for (const row of sql.exec<{ key_id: string }>("SELECT key_id FROM revoked_keys")) this.revoked.add(row.key_id);
    const saved = sql.exec<{ value: string }>("SELECT value FROM settings WHERE name = 'policies'").toArray()[0];
    this.override = saved === undefined ? null : (JSON.parse(saved.value) as Policy[]);
  }

  private counts(windowSec: number): BucketCounts {
    let counts = this.windows.get(windowSec);
    if (counts === undefined) this.windows.set(windowSec, (counts = new Map()));
    return counts;
  }

  /**
   * Drops every bucket that can no longer be counted, in memory and in storage. Run whenever an admission
   * opens a new bucket (at most once per W/B of each window), so each window keeps at most B+1 buckets at any
   * time; windows left behind by a policy change empty out and are forgotten.
   */
  private pruneAll(nowMs: number): void {
    for (const [windowSec, counts] of this.windows) {
      if (prune(counts, windowSec, nowMs).length > 0) {
        this.ctx.storage.sql.exec("DELETE FROM buckets WHERE window_sec = ? AND bucket < ?", windowSec, oldestLiveBucket(windowSec, nowMs));
      }
      if (counts.size === 0) this.windows.delete(windowSec);
    }
  }

  /** Decides one request: revoked key, or admitted / refused by the tenant's policies. */
  async admit(req: AdmitRequest): Promise<AdmitResult> {
    const nowMs = this.clock();
    if (req.keyId !== null && this.revoked.has(req.keyId)) return { allowed: false, revoked: true, nowMs, remaining: 0, headers: {}, states: [], violated: null };
    const policies = this.override ?? req.defaults;
    const decision = decide(policies, (w) => this.counts(w), nowMs);
    for (const t of decision.touched) {
      this.ctx.storage.sql.exec("INSERT INTO buckets VALUES (?, ?, ?) ON CONFLICT DO UPDATE SET count = excluded.count", t.windowSec, t.bucket, t.count);
    }
    if (decision.touched.some((t) => t.count === 1)) this.pruneAll(nowMs);
    const remaining = Math.min(...decision.states.map((s) => s.remaining));
    const headers = rateLimitHeaders(decision.states, nowMs);
    if (decision.allowed) return { allowed: true, revoked: false, nowMs, remaining, headers, states: [], violated: null };
    return { allowed: false, revoked: false, nowMs, remaining, headers, states: decision.states, violated: decision.violated };
  }

  /** Whether a key was revoked: asked only when a key is about to be refused with 403 (see authorizeRoute). */
  async isRevoked(keyId: string): Promise<boolean> {
    return this.revoked.has(keyId);
  }

  /** Makes a key unusable from the next request on. */
  async revokeKey(keyId: string): Promise<void> {
    this.revoked.add(keyId);
    this.ctx.storage.sql.exec("INSERT OR IGNORE INTO revoked_keys VALUES (?, ?)", keyId, this.clock());
  }

  /** Sets the tenant's policies (null: back to the gateway default). Effective on the next request. */
  async setPolicies(policies: Policy[] | null): Promise<void> {
    this.override = policies;
    if (policies === null) this.ctx.storage.sql.exec("DELETE FROM settings WHERE name = 'policies'");
    else this.ctx.storage.sql.exec("INSERT INTO settings VALUES ('policies', ?) ON CONFLICT DO UPDATE SET value = excluded.value", JSON.stringify(policies));
  }

  /** The effective policies and current usage, without counting anything. */
  async status(defaults: Policy[]): Promise<LimiterStatus> {
    const nowMs = this.clock();
    const policies = this.override ?? defaults;
    return { nowMs, overridden: this.override !== null, policies, states: policies.map((p) => evaluate(p, this.counts(p.windowSec), nowMs)) };
  }
}
