/**
 * The one tenant-id grammar. A tenant id names the tenant's Durable Object and sits inside KV keys
 * (`tenant:<id>:key:<keyId>`), so it must never hold the `:` that separates those keys (a tenant `a:key`
 * would list under another tenant's prefix), nor anything a header or a log line could be split on.
 * Every reader of a tenant id (JWT `tid`, admin API path) checks it here.
 */

/** 1-64 characters: a letter or digit first, then letters, digits, `-` or `_`. */
export const TENANT_ID_PATTERN = /^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$/;

/** The rule as a client reads it in a VALIDATION_ERROR. */
export const TENANT_ID_RULE = "Must be 1-64 letters, digits, - or _, starting with a letter or digit";

/** True when `value` is a string in the tenant-id grammar. */
export function isTenantId(value: unknown): value is string {
  return typeof value === "string" && TENANT_ID_PATTERN.test(value);
}
