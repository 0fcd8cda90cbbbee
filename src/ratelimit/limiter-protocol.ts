/**
 * The RPC contract between an isolate and its tenant's Durable Object (./tenant-limiter.ts): a lease
 * exchange's request and answer, and the read-only status the limits views show.
 */
import type { Policy } from "../shared/policy";
import type { LeaseReport } from "./lease-ledger";
import type { PolicyState } from "./sliding-window";

/** One lease exchange: reports on finished leases, and a request for more permits (none: a report only). */
export interface LeaseRequest {
  /** A random id of the asking isolate: the object shares its headroom among the isolates it sees. */
  holderId: string;
  /** The integration key asking (its own policies apply too, if it has any); null for the tenant's other principals. */
  keyId: string | null;
  /** Permits asked for: `need` plus what the isolate expects to use over the lease's life (0: a report only). */
  want: number;
  /** The units of the requests waiting for this exchange: granted first, up to the whole headroom (absent: all of `want`). */
  need?: number;
  /** The fewest permits worth granting: the cost of the first request waiting. */
  min: number;
  ttlMs: number;
  /** The gateway's default policies, used unless the tenant has an override. */
  defaults: Policy[];
  reports: LeaseReport[];
  /** The last revocation the isolate knows of (0: none yet). */
  revocationCursor: number;
  /** The version of the keys-with-their-own-policies list the isolate knows (-1 or absent: none yet). */
  keysEpoch?: number;
}

/** Which keys have policies of their own (their permits are leased apart), as of `epoch`. */
export interface KeyScopes {
  epoch: number;
  keys: string[];
}

export interface LeaseAnswer {
  /** The object's clock at the decision, so the isolate can state times in its frame. */
  nowMs: number;
  /**
   * The lease, or null when an enforced policy refused (or the request was a report only). `keyId`: the key
   * whose own policies count these permits (only that key may use them); null for the tenant's alone.
   */
  lease: { id: string; permits: number; ttlMs: number; keyId: string | null } | null;
  /** Every policy's state after the decision (the leased permits counted as used), each with its scope and mode. */
  states: PolicyState[];
  violated: PolicyState | null;
  /** Each shadow policy's remaining before the grant: the lease's permits past it are those it would have refused. */
  shadowRemaining: Array<{ name: string; remaining: number }>;
  /** Key ids revoked after the isolate's cursor, and the new cursor. */
  revoked: string[];
  revocationCursor: number;
  /** The keys with their own policies, when the isolate's `keysEpoch` is out of date; null otherwise. */
  keyScopes: KeyScopes | null;
}

export interface LimiterStatus {
  /** The limiter's clock, so reset times are stated in its frame. */
  nowMs: number;
  overridden: boolean;
  /** The policies that apply (the tenant's, then the key's when asked for one), with their scope. */
  policies: Policy[];
  states: PolicyState[];
  /** Keys of the tenant that have their own policies. */
  keysWithPolicies: string[];
}

/**
 * The exchange's form on the wire: its request and answer as JSON text, one string each way. RPC would
 * structured-clone the objects instead, and an exchange is a dozen small objects and arrays: cloning them cost
 * ~83 k instructions per exchange (both ways, both sides), reading them back most of it, where writing and
 * parsing the text costs ~48 k (docs/benchmarks.md, "1,000 tenants"). Both ends are this Worker's code.
 */
export function encodeLeaseRequest(req: LeaseRequest): string {
  return JSON.stringify(req);
}

export function decodeLeaseRequest(text: string): LeaseRequest {
  return JSON.parse(text) as LeaseRequest;
}

export function encodeLeaseAnswer(answer: LeaseAnswer): string {
  return JSON.stringify(answer);
}

export function decodeLeaseAnswer(text: string): LeaseAnswer {
  return JSON.parse(text) as LeaseAnswer;
}
