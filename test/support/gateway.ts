/** Helpers for integration tests: call the real Worker, read what the demo backends received, provision credentials. */
import { env, exports } from "cloudflare:workers";
import { SignJWT, importJWK, type JWTPayload } from "jose";
import { expect } from "vitest";
import devKey from "../../dev/keys/dev-signing-key.private.jwk.json";

export const ADMIN = { authorization: `Bearer ${env.ADMIN_SECRET}` };

let counter = 0;
/** A fresh, safe request id, so the backend's record of this request can be found. */
export function rid(label = "t"): string {
  counter += 1;
  return `${label}-${Date.now().toString(36)}-${counter}-${crypto.randomUUID().slice(0, 8)}`;
}

/** A tenant id no other test uses. */
export function tenant(label = "tenant"): string {
  return `${label}-${crypto.randomUUID().slice(0, 12)}`;
}

/** Sends a request through the real Worker entry point. */
export function call(path: string, init: RequestInit = {}): Promise<Response> {
  return exports.default.fetch(new Request(`https://gateway.test${path}`, init));
}

export interface Recorded {
  method: string;
  url: string;
  rawHeaders: Array<[string, string]>;
  headers: Record<string, string>;
  bodyLength: number | null;
  bodySha256: string | null;
  bodyBase64: string | null;
  /** The product read the request body to a clean end (false: it was broken off, e.g. an aborted upload). */
  bodyComplete: boolean;
  /** The status the product answered with (null: it never sent headers). */
  responseStatus: number | null;
  /** Response body bytes the product wrote before its connection closed. */
  responseBytes: number;
  /** The connection closed before the product finished its answer: the gateway hung up on it. */
  responseAborted: boolean | null;
}

/**
 * What the product backend received for a request id (empty when nothing was forwarded). The backend
 * waits up to `waitMs` (default 2 s) for entries still in flight; 0 answers with what it has now.
 */
export async function recorded(product: "psa" | "rmm", requestId: string, waitMs?: number): Promise<Recorded[]> {
  const origin = product === "psa" ? env.UPSTREAM_PSA : env.UPSTREAM_RMM;
  const wait = waitMs === undefined ? "" : `&wait=${waitMs}`;
  const res = await fetch(`${origin}/__recorded?requestId=${encodeURIComponent(requestId)}${wait}`);
  return ((await res.json()) as { requests: Recorded[] }).requests;
}

/**
 * Asserts the product received exactly one request for `requestId` and saw its body broken off, never a
 * clean end, after at most `atMostBytes`: what a refused or failed upload must look like upstream.
 */
export async function expectBodyBrokenOff(product: "psa" | "rmm", requestId: string, atMostBytes: number): Promise<Recorded> {
  const entries = await recorded(product, requestId);
  expect(entries).toHaveLength(1);
  const [entry] = entries as [Recorded];
  expect(entry.bodyComplete).toBe(false);
  expect(entry.bodyLength).toBeLessThanOrEqual(atMostBytes);
  return entry;
}

/**
 * Resolves once `done()` holds, asking again after each answer (an event to wait for, not a time to sleep:
 * e.g. the product has received a request). Fails after `boundMs`.
 */
export async function until(done: () => Promise<boolean>, boundMs = 5000): Promise<void> {
  const started = Date.now();
  while (!(await done())) {
    if (Date.now() - started > boundMs) throw new Error(`until: not done within ${boundMs} ms`);
    await scheduler.wait(10);
  }
}

/** Creates an integration key through the admin API and returns its plaintext and id. */
export async function createKey(tenantId: string, access: Record<string, "read" | "write">, extra: Record<string, unknown> = {}) {
  const res = await call(`/__gateway/admin/tenants/${tenantId}/keys`, {
    method: "POST",
    headers: { ...ADMIN, "content-type": "application/json" },
    body: JSON.stringify({ name: "test key", access, ...extra }),
  });
  if (res.status !== 201) throw new Error(`createKey: ${res.status} ${await res.text()}`);
  return (await res.json()) as { key: string; keyId: string };
}

/** Signs a JWT with the development key that the test configuration trusts. */
export async function mintToken(claims: JWTPayload, opts: { expiresInSec?: number; issuedAtSec?: number; header?: Record<string, unknown> } = {}): Promise<string> {
  const key = await importJWK(devKey, "ES256");
  const now = Math.floor(Date.now() / 1000);
  const iat = opts.issuedAtSec ?? now;
  return new SignJWT({ iss: env.JWT_ISSUER, ...claims })
    .setProtectedHeader({ alg: "ES256", kid: devKey.kid, typ: "JWT", ...opts.header })
    .setIssuedAt(iat)
    .setExpirationTime(iat + (opts.expiresInSec ?? 600))
    .sign(key);
}

export function sessionToken(tenantId: string, perms: string[], extra: JWTPayload = {}, opts = {}): Promise<string> {
  return mintToken({ aud: env.JWT_SESSION_AUDIENCE, token_use: "session", sub: "usr_1", tid: tenantId, perms, ...extra }, opts);
}

export function portalToken(tenantId: string, customerId: string, extra: JWTPayload = {}, opts = {}): Promise<string> {
  return mintToken({ aud: env.JWT_PORTAL_AUDIENCE, token_use: "portal", sub: "contact_1", tid: tenantId, cid: customerId, ...extra }, opts);
}

/** The envelope of an error response, after checking it is JSON. */
export async function envelope(res: Response): Promise<{ error: string; code: string; details: Record<string, unknown> | null }> {
  if (!(res.headers.get("content-type") ?? "").startsWith("application/json")) throw new Error(`not JSON: ${res.status} ${res.headers.get("content-type")}`);
  return res.json();
}
