// Output for scripts/admin.mjs: aligned text tables for people, `--json` for scripts.

/** Rows (arrays of cells) as columns padded to their widest cell, under a header. */
export function table(header, rows) {
  const cells = [header, ...rows].map((r) => r.map((c) => (c === null || c === undefined ? "-" : String(c))));
  const widths = header.map((_, i) => Math.max(...cells.map((r) => r[i].length)));
  return cells.map((r) => r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i]))).join("  ")).join("\n");
}

/** `burst 100/1m, hourly 2000/1h (shadow)`. */
export function policiesText(policies) {
  if (policies === null || policies === undefined) return "default";
  return policies.map((p) => `${p.name} ${p.limit}/${p.window}${p.mode === "shadow" ? " (shadow)" : ""}`).join(", ");
}

/** Keys with their state: a rolling key shows when its grace ends and which key replaces it. */
export function keysTable(keys) {
  return table(
    ["KEY ID", "NAME", "ACCESS", "STATE", "CREATED", "EXPIRES", "GRACE UNTIL", "SUCCESSOR"],
    keys.map((k) => [k.keyId, k.name, Object.entries(k.access).map(([p, l]) => `${p}:${l}`).join(","), k.state, k.createdAt, k.expiresAt, k.graceUntil, k.rolledTo]),
  );
}

export function limitText(view) {
  const who = view.keyId === undefined ? `tenant ${view.tenantId}` : `key ${view.keyId} of tenant ${view.tenantId}`;
  const head = `${who}: ${view.overridden ? "override" : view.keyId === undefined ? "default policies" : "no policies of its own"}`;
  const rows = view.policies.map((p) => {
    const u = view.usage.find((x) => x.name === p.name);
    return [p.name, p.limit, p.window, p.mode ?? "enforce", u?.used, u?.remaining, u?.resetSeconds];
  });
  const keys = view.keysWithPolicies?.length > 0 ? `\nkeys with policies of their own (limits get ${view.tenantId} --key KEY_ID): ${view.keysWithPolicies.join(", ")}` : "";
  return `${head}\n${table(["POLICY", "LIMIT", "WINDOW", "MODE", "USED", "REMAINING", "RESET S"], rows)}${keys}`;
}

/** An audit entry's before or after, short: policies as `burst 5/1m`, a record's changed fields, else JSON. */
function changeText(value) {
  if (value === null || value === undefined) return "-";
  if (Array.isArray(value) && value.every((p) => p && typeof p === "object" && "limit" in p)) return policiesText(value);
  return JSON.stringify(value);
}

export function auditTable(entries) {
  return table(["AT", "ACTOR", "ACTION", "KEY", "BEFORE", "AFTER"], entries.map((e) => [e.at, e.actor, e.action, e.keyId ?? "-", changeText(e.before), changeText(e.after)]));
}

export function tenantsTable(tenants) {
  return table(
    ["TENANT", "KEYS", "USABLE", "OVERRIDE", "KEYS WITH POLICIES", "LAST CHANGE"],
    tenants.map((t) => [t.tenantId, t.keys, t.usableKeys, t.overridden ? "yes" : "no", t.keysWithPolicies, t.lastChangeAt ?? "before the index"]),
  );
}

/** An API error as an operator reads it: the message, the code, each field problem, and what to do. */
export function apiErrorText(err) {
  if (err.status === 429 && err.code === "RATE_LIMIT_EXCEEDED") {
    const wait = err.retryAfter ?? err.details?.retryAfter;
    return `error: too many failed admin authentications from this address: the admin API refuses it${wait ? ` for ${wait} s` : " for now"} (RATE_LIMIT_EXCEEDED, HTTP 429); check the secret (--secret-file, ONESTACK_ADMIN_SECRET) before trying again`;
  }
  const lines = [`error: ${err.message} (${err.code}, HTTP ${err.status})`];
  const fields = err.details?.fields;
  if (fields && typeof fields === "object") for (const [field, problem] of Object.entries(fields)) lines.push(`  ${field}: ${problem}`);
  else if (err.details) lines.push(`  details: ${JSON.stringify(err.details)}`);
  if (err.hint) lines.push(`  ${err.hint}`);
  return lines.join("\n");
}
