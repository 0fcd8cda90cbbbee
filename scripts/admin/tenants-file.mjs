// Declarative tenant configuration (config/tenants.<env>.json) and the pure half of plan/apply/dump: the
// difference between a file's entries and what the environment has, and the live state written as a file.
// No I/O here (plan.mjs does it), so both are testable on their own. The file itself is validated by the
// gateway (POST /__gateway/admin/tenants-file/validate), with the admin API's own schemas.
//
// File shape:
//   { "environment": "development",
//     "tenants": { "<tenantId>": { "rateLimit": { "policies": [...] } | null,
//                                  "keys": { "<keyId>": { "rateLimit": { "policies": [...] } | null } } } } }
// `rateLimit` absent: left alone; null: reset to the default; policies: set to exactly these.
// Tenants (and keys) not in the file are never touched.

const UNIT = { s: 1, m: 60, h: 3600, d: 86_400 };

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
 * (`overridden`, `policies`), or null for a tenant the gateway does not know yet (its policies are the
 * default, and the change makes it known: `newTenant`). Actions: `set` (default now, policies wanted),
 * `change` (other policies wanted), `reset` (policies now, default wanted).
 */
export function diffEntry(entry, live) {
  const before = live?.overridden ? live.policies : null;
  if (canonical(before) === canonical(entry.policies)) return null;
  const action = entry.policies === null ? "reset" : before === null ? "set" : "change";
  return { tenantId: entry.tenantId, ...(entry.keyId !== undefined ? { keyId: entry.keyId } : {}), action, before, after: entry.policies, ...(live === null ? { newTenant: true } : {}) };
}

/** Policies as a file writes them: `mode` only when it is not the default. */
const filePolicies = (view) => view.policies.map((p) => ({ name: p.name, limit: p.limit, window: p.window, ...(p.mode === "shadow" ? { mode: "shadow" } : {}) }));

/**
 * The live state as a tenants file: every tenant's own policies (null: the default) and every key with
 * policies of its own. `tenants` is `[{ tenantId, view, keyViews: [{ keyId, view }] }]`.
 */
export function tenantsFileOf(environment, tenants) {
  const out = {};
  for (const t of tenants) {
    const entry = { rateLimit: t.view.overridden ? { policies: filePolicies(t.view) } : null };
    if (t.keyViews.length > 0) entry.keys = Object.fromEntries(t.keyViews.map((k) => [k.keyId, { rateLimit: { policies: filePolicies(k.view) } }]));
    out[t.tenantId] = entry;
  }
  return { environment, tenants: out };
}
