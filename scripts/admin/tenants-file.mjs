// Declarative tenant configuration (config/tenants.<env>.json) and the pure half of plan/apply: reading
// the file, and the difference between it and what the environment has. No I/O here (plan.mjs does it),
// so the diff is testable on its own.
//
// File shape:
//   { "environment": "development",
//     "tenants": { "<tenantId>": { "rateLimit": { "policies": [...] } | null,
//                                  "keys": { "<keyId>": { "rateLimit": { "policies": [...] } | null } } } } }
// `rateLimit` absent: left alone; null: reset to the default; policies: set to exactly these.
// Tenants (and keys) not in the file are never touched.

import { UsageError } from "./args.mjs";

const UNIT = { s: 1, m: 60, h: 3600, d: 86_400 };

function own(obj, name) {
  return Object.hasOwn(obj, name) ? obj[name] : undefined;
}

function isObject(value) {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function readRateLimit(value, where) {
  if (value === null) return null;
  if (!isObject(value) || !Array.isArray(value.policies)) throw new UsageError(`${where}: must be null (the default) or { "policies": [...] }`);
  value.policies.forEach((p, i) => {
    if (!isObject(p) || typeof p.name !== "string" || !Number.isSafeInteger(p.limit) || typeof p.window !== "string") {
      throw new UsageError(`${where}.policies[${i}]: must be { "name": string, "limit": integer, "window": "1m" } (the API checks the rest)`);
    }
  });
  return value.policies;
}

/** The desired state from a parsed tenants file: `{ environment, entries: [{ tenantId, keyId?, policies }] }`. */
export function readTenantsFile(doc) {
  if (!isObject(doc) || !isObject(doc.tenants)) throw new UsageError('tenants file: must be { "tenants": { ... } }');
  if (doc.environment !== undefined && typeof doc.environment !== "string") throw new UsageError("tenants file: environment must be a string");
  const entries = [];
  for (const tenantId of Object.keys(doc.tenants)) {
    const t = own(doc.tenants, tenantId);
    if (!isObject(t)) throw new UsageError(`tenants.${tenantId}: must be an object`);
    if (Object.hasOwn(t, "rateLimit")) entries.push({ tenantId, policies: readRateLimit(t.rateLimit, `tenants.${tenantId}.rateLimit`) });
    if (t.keys !== undefined) {
      if (!isObject(t.keys)) throw new UsageError(`tenants.${tenantId}.keys: must be an object of key ids`);
      for (const keyId of Object.keys(t.keys)) {
        const k = own(t.keys, keyId);
        if (isObject(k) && Object.hasOwn(k, "rateLimit")) entries.push({ tenantId, keyId, policies: readRateLimit(k.rateLimit, `tenants.${tenantId}.keys.${keyId}.rateLimit`) });
      }
    }
  }
  return { environment: doc.environment ?? null, entries };
}

function windowSec(text) {
  const m = /^(\d{1,6})([smhd])$/.exec(text);
  return m === null ? text : Number(m[1]) * UNIT[m[2]];
}

function canonical(policies) {
  if (policies === null) return null;
  return JSON.stringify(policies.map((p) => [p.name, p.limit, windowSec(p.window), p.mode ?? "enforce"]).sort((a, b) => (a[0] < b[0] ? -1 : 1)));
}

/**
 * One change for an entry, or null when the environment already matches. `live` is the API's limit view
 * (`overridden`, `policies`). Actions: `set` (default now, policies wanted), `change` (other policies
 * wanted), `reset` (policies now, default wanted).
 */
export function diffEntry(entry, live) {
  const before = live.overridden ? live.policies : null;
  if (canonical(before) === canonical(entry.policies)) return null;
  const action = entry.policies === null ? "reset" : before === null ? "set" : "change";
  return { tenantId: entry.tenantId, ...(entry.keyId !== undefined ? { keyId: entry.keyId } : {}), action, before, after: entry.policies };
}
