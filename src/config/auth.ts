/**
 * Authentication settings from vars. JWTs are verified against either a remote JWKS URL (deployments) or a
 * static JWKS (local development only: a static key set is refused outside ENVIRONMENT=development, so the
 * development signing key can never be trusted by a deployed gateway).
 */
import type { JSONWebKeySet } from "jose";
import * as v from "valibot";
import { isRecord } from "../shared/records";
import { ConfigError, configValue, expectInt, expectString } from "./validate";

/**
 * A remote key set carries its fetch deadline and how long after its last successful load it may still
 * verify tokens while the endpoint is failing (docs/authentication.md, "User session JWTs").
 */
export type JwksSource =
  | { kind: "remote"; url: string; timeoutMs: number; maxStaleMs: number }
  | { kind: "static"; jwks: JSONWebKeySet }
  | { kind: "none" };

export interface AuthConfig {
  issuer: string;
  sessionAudience: string;
  portalAudience: string;
  algorithms: string[];
  clockToleranceSec: number;
  maxTokenAgeSec: number;
  jwks: JwksSource;
  sessionCookie: string;
  adminSecret: string | null;
  /** The next admin secret during a rotation: both are accepted until ADMIN_SECRET is replaced by it. */
  adminSecretNext: string | null;
  /** Cloudflare Access in front of the admin API (deployments); null when not configured. */
  adminAccess: AdminAccess | null;
  /** How long a request waits for KV, the key cache; a late or failed read asks the directory (docs/authentication.md). */
  keyKvTimeoutMs: number;
  /** How long a request waits for the key directory to confirm a KV miss; late is 503 (docs/authentication.md). */
  keyDirectoryTimeoutMs: number;
  /** How long a failure-budget call to a Rate Limiting binding may take; late counts as a refusal (fail closed). */
  failureLimiterTimeoutMs: number;
}

/** Cloudflare Access application: tokens from `issuer` (the team domain) for `audiences`, keys at `certsUrl`. */
export interface AdminAccess {
  issuer: string;
  audiences: string[];
  certs: Extract<JwksSource, { kind: "remote" }>;
}

/** Asymmetric algorithms only: a shared-secret HMAC would let anyone holding the public JWKS mint tokens. */
const ASYMMETRIC_ALGORITHMS = ["RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "EdDSA", "Ed25519"];

function parseJwks(vars: Record<string, unknown>, environment: string): JwksSource {
  const url = vars.JWKS_URL;
  const inline = vars.JWKS;
  if (url !== undefined && url !== "" && inline !== undefined && inline !== "") throw new ConfigError("JWKS", "set JWKS_URL or JWKS, not both");
  if (typeof url === "string" && url !== "") {
    let parsed: URL;
    try {
      parsed = new URL(url);
    } catch {
      throw new ConfigError("JWKS_URL", "not a URL");
    }
    if (parsed.protocol !== "https:" && environment !== "development") throw new ConfigError("JWKS_URL", "must be https outside development");
    return {
      kind: "remote",
      url: parsed.href,
      timeoutMs: expectInt(vars.JWKS_TIMEOUT_MS ?? 3000, "JWKS_TIMEOUT_MS", 1, 60_000),
      // At least the 10 min cache age: a set is refreshed that often while its endpoint answers.
      maxStaleMs: expectInt(vars.JWKS_MAX_STALE_SECONDS ?? 3600, "JWKS_MAX_STALE_SECONDS", 600, 7 * 86_400) * 1000,
    };
  }
  if (inline === undefined || inline === "") return { kind: "none" };
  if (environment !== "development") throw new ConfigError("JWKS", "a static JWKS is for local development only; deployments use JWKS_URL");
  let jwks: unknown;
  try {
    jwks = typeof inline === "string" ? JSON.parse(inline) : inline;
  } catch {
    throw new ConfigError("JWKS", "not valid JSON");
  }
  if (!isRecord(jwks) || !Array.isArray(jwks.keys) || jwks.keys.length === 0) throw new ConfigError("JWKS", "must be a JWK Set with keys");
  if (jwks.keys.some((k) => !isRecord(k) || "d" in k)) throw new ConfigError("JWKS", "must hold public keys only");
  return { kind: "static", jwks: jwks as unknown as JSONWebKeySet };
}

function optional(value: unknown, fallback: string, field: string): string {
  return value === undefined || value === "" ? fallback : expectString(value, field);
}

export function parseAuthConfig(vars: Record<string, unknown>, environment: string): AuthConfig {
  const algorithms = optional(vars.JWT_ALGORITHMS, "RS256,ES256,EdDSA", "JWT_ALGORITHMS").split(",").map((a) => a.trim());
  for (const alg of algorithms) {
    if (!ASYMMETRIC_ALGORITHMS.includes(alg)) throw new ConfigError("JWT_ALGORITHMS", `each must be one of ${ASYMMETRIC_ALGORITHMS.join(", ")}`, alg);
  }
  const adminSecret = parseAdminSecret(vars.ADMIN_SECRET, "ADMIN_SECRET", environment);
  const adminSecretNext = parseAdminSecret(vars.ADMIN_SECRET_NEXT, "ADMIN_SECRET_NEXT", environment);
  return {
    issuer: optional(vars.JWT_ISSUER, "https://auth.onestack.example", "JWT_ISSUER"),
    sessionAudience: optional(vars.JWT_SESSION_AUDIENCE, "onestack-api", "JWT_SESSION_AUDIENCE"),
    portalAudience: optional(vars.JWT_PORTAL_AUDIENCE, "onestack-portal", "JWT_PORTAL_AUDIENCE"),
    algorithms,
    clockToleranceSec: expectInt(vars.JWT_CLOCK_TOLERANCE_SECONDS ?? 30, "JWT_CLOCK_TOLERANCE_SECONDS", 0, 300),
    maxTokenAgeSec: expectInt(vars.JWT_MAX_TOKEN_AGE_SECONDS ?? 86_400, "JWT_MAX_TOKEN_AGE_SECONDS", 60, 30 * 86_400),
    jwks: parseJwks(vars, environment),
    sessionCookie: optional(vars.SESSION_COOKIE, "os_session", "SESSION_COOKIE"),
    adminSecret,
    adminSecretNext,
    adminAccess: parseAdminAccess(vars, environment),
    keyKvTimeoutMs: expectInt(vars.KEY_KV_TIMEOUT_MS ?? 500, "KEY_KV_TIMEOUT_MS", 10, 30_000),
    keyDirectoryTimeoutMs: expectInt(vars.KEY_DIRECTORY_TIMEOUT_MS ?? 1000, "KEY_DIRECTORY_TIMEOUT_MS", 10, 30_000),
    failureLimiterTimeoutMs: expectInt(vars.AUTH_LIMITER_TIMEOUT_MS ?? 1000, "AUTH_LIMITER_TIMEOUT_MS", 10, 30_000),
  };
}

// Empty and absent mean "not set", as for every optional var.
const ADMIN_SECRET = v.pipe(
  v.optional(v.string("must be a string"), ""),
  v.check((s) => s === "" || s.length >= 16, "must be at least 16 characters"),
  v.transform((s) => (s === "" ? null : s)),
);

/** The local development admin secret the README documents: published, so never accepted outside development. */
const DEVELOPMENT_ADMIN_SECRET = "dev-admin-secret-change-me";

function parseAdminSecret(value: unknown, field: string, environment: string): string | null {
  const secret = configValue(ADMIN_SECRET, value, field);
  if (secret === DEVELOPMENT_ADMIN_SECRET && environment !== "development") throw new ConfigError(field, "is the published development secret; set a secret of your own with wrangler secret put");
  return secret;
}

function httpsUrl(value: unknown, field: string, environment: string): string {
  let url: URL;
  try {
    url = new URL(expectString(value, field));
  } catch {
    throw new ConfigError(field, "not a URL");
  }
  if (url.protocol !== "https:" && !(environment === "development" && url.protocol === "http:")) throw new ConfigError(field, "must be https outside development");
  return url.href.replace(/\/$/, "");
}

/**
 * ACCESS_TEAM_DOMAIN (`https://<team>.cloudflareaccess.com`, the tokens' `iss`) and ACCESS_AUD (the
 * application's audience tag; several comma-separated) together, or neither. The signing keys are at
 * `<team domain>/cdn-cgi/access/certs` unless ACCESS_CERTS_URL says otherwise.
 */
function parseAdminAccess(vars: Record<string, unknown>, environment: string): AdminAccess | null {
  const team = vars.ACCESS_TEAM_DOMAIN ?? "";
  const aud = vars.ACCESS_AUD ?? "";
  if (team === "" && aud === "") return null;
  if (team === "") throw new ConfigError("ACCESS_TEAM_DOMAIN", "required with ACCESS_AUD");
  if (aud === "") throw new ConfigError("ACCESS_AUD", "required with ACCESS_TEAM_DOMAIN");
  const issuer = httpsUrl(team, "ACCESS_TEAM_DOMAIN", environment);
  const audiences = expectString(aud, "ACCESS_AUD").split(",").map((a) => a.trim()).filter((a) => a !== "");
  const certsUrl = vars.ACCESS_CERTS_URL === undefined || vars.ACCESS_CERTS_URL === "" ? `${issuer}/cdn-cgi/access/certs` : httpsUrl(vars.ACCESS_CERTS_URL, "ACCESS_CERTS_URL", environment);
  const timeoutMs = expectInt(vars.JWKS_TIMEOUT_MS ?? 3000, "JWKS_TIMEOUT_MS", 1, 60_000);
  return { issuer, audiences, certs: { kind: "remote", url: certsUrl, timeoutMs, maxStaleMs: 3600_000 } };
}
