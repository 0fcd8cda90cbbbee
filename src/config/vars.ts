/**
 * The vars the gateway reads (docs/configuration.md, "Vars"). A var it does not know is refused by the
 * configuration check (`npm run check:config`, `npm run dev`), so a misspelt name (`RATE_LIMT_DEFAULT`)
 * never silently leaves its setting at the default. test/unit/config-check.test.ts proves every var the
 * configuration reads is listed here.
 */
import { ConfigError } from "./validate";
import { withSuggestion } from "./suggest";

export const GATEWAY_VARS: readonly string[] = [
  "ENVIRONMENT",
  "BUILD_VERSION",
  "MAX_BODY_BYTES",
  "MAX_JSON_BYTES",
  "UPLOAD_IDLE_TIMEOUT_MS",
  "LINGER_MAX_BYTES",
  "LINGER_TIMEOUT_MS",
  "KEY_KV_TIMEOUT_MS",
  "KEY_DIRECTORY_TIMEOUT_MS",
  "AUTH_LIMITER_TIMEOUT_MS",
  "ADMIN_STORE_TIMEOUT_MS",
  "AUDIT_TIMEOUT_MS",
  "CORS_ORIGINS",
  "CORS_MAX_AGE_SECONDS",
  "JWT_ISSUER",
  "JWT_SESSION_AUDIENCE",
  "JWT_PORTAL_AUDIENCE",
  "JWT_ALGORITHMS",
  "JWT_CLOCK_TOLERANCE_SECONDS",
  "JWT_MAX_TOKEN_AGE_SECONDS",
  "SESSION_COOKIE",
  "JWKS",
  "JWKS_URL",
  "JWKS_TIMEOUT_MS",
  "JWKS_MAX_STALE_SECONDS",
  "ADMIN_SECRET",
  "ADMIN_SECRET_NEXT",
  "ACCESS_TEAM_DOMAIN",
  "ACCESS_AUD",
  "ACCESS_CERTS_URL",
  "RATE_LIMIT_DEFAULT",
  "RATE_LIMIT_FAIL_MODE",
  "RATE_LIMIT_TIMEOUT_MS",
  "RATE_LIMIT_LEASE_MS",
];

/** `UPSTREAM_PSA` style names: the var that overrides a product's upstream at start-up. */
export function upstreamVarName(product: string): string {
  return `UPSTREAM_${product.toUpperCase()}`;
}

/** `UPSTREAM_TIMEOUT_MS_PSA` style names: the var that overrides a product's upstream timeout. */
export function timeoutVarName(product: string): string {
  return `UPSTREAM_TIMEOUT_MS_${product.toUpperCase()}`;
}

/** One ConfigError per var name the gateway does not read, with the close known name if there is one. */
export function unknownVars(names: Iterable<string>, productNames: readonly string[]): ConfigError[] {
  const known = new Set([...GATEWAY_VARS, ...productNames.flatMap((p) => [upstreamVarName(p), timeoutVarName(p)])]);
  const problems: ConfigError[] = [];
  for (const name of names) {
    if (!known.has(name)) problems.push(new ConfigError(name, withSuggestion("not a var the gateway reads", name, known)));
  }
  return problems;
}
