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

export function keysTable(keys) {
  return table(
    ["KEY ID", "NAME", "ACCESS", "CREATED", "EXPIRES", "REVOKED"],
    keys.map((k) => [k.keyId, k.name, Object.entries(k.access).map(([p, l]) => `${p}:${l}`).join(","), k.createdAt, k.expiresAt, k.revokedAt]),
  );
}

export function limitText(view) {
  const who = view.keyId === undefined ? `tenant ${view.tenantId}` : `key ${view.keyId} of tenant ${view.tenantId}`;
  const head = `${who}: ${view.overridden ? "override" : "default policies"}`;
  const rows = view.policies.map((p) => {
    const u = view.usage.find((x) => x.name === p.name);
    return [p.name, p.limit, p.window, p.mode ?? "enforce", u?.used, u?.remaining, u?.resetSeconds];
  });
  return `${head}\n${table(["POLICY", "LIMIT", "WINDOW", "MODE", "USED", "REMAINING", "RESET S"], rows)}`;
}

/** An API error as an operator reads it: the message, the code and each field problem. */
export function apiErrorText(err) {
  const lines = [`error: ${err.message} (${err.code}, HTTP ${err.status})`];
  const fields = err.details?.fields;
  if (fields && typeof fields === "object") for (const [field, problem] of Object.entries(fields)) lines.push(`  ${field}: ${problem}`);
  else if (err.details) lines.push(`  details: ${JSON.stringify(err.details)}`);
  return lines.join("\n");
}
