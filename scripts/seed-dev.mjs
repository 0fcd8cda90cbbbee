#!/usr/bin/env node
// DEV ONLY. Seeds the local KV namespace (wrangler's local state in .wrangler/) with the demo tenant's
// integration keys from dev/seed/demo-keys.json, stored exactly as the admin API stores keys: the record
// under the key's SHA-256, plus the tenant index entry. These keys exist nowhere but local development.

import { execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";

const ROOT = fileURLToPath(new URL("..", import.meta.url));
const WRANGLER = path.join(ROOT, "node_modules", ".bin", "wrangler");

/** The KV entries for the demo keys, in `wrangler kv bulk put` form. */
export function demoKeyEntries() {
  const demo = JSON.parse(readFileSync(path.join(ROOT, "dev", "seed", "demo-keys.json"), "utf8"));
  return demo.flatMap(({ key, ...fields }) => {
    const hash = createHash("sha256").update(key).digest("hex");
    const record = { ...fields, createdAt: "2026-01-01T00:00:00.000Z", expiresAt: null, revokedAt: null };
    return [
      { key: `key:${hash}`, value: JSON.stringify(record) },
      { key: `tenant:${record.tenantId}:key:${record.keyId}`, value: JSON.stringify({ ...record, hash }) },
    ];
  });
}

/** Writes the demo keys into the local KV state (bounded: wrangler gets 60 s). */
export function seedDemoKeys() {
  const dir = mkdtempSync(path.join(tmpdir(), "onestack-seed-"));
  const file = path.join(dir, "keys.json");
  try {
    writeFileSync(file, JSON.stringify(demoKeyEntries()));
    execFileSync(process.execPath, [WRANGLER, "kv", "bulk", "put", file, "--binding", "KEYS", "--local"], {
      cwd: ROOT,
      stdio: ["ignore", "ignore", "inherit"],
      timeout: 60_000,
      env: { ...process.env, WRANGLER_SEND_METRICS: "false" },
    });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

if (import.meta.filename === process.argv[1]) {
  seedDemoKeys();
  console.log("seeded the demo tenant's integration keys into local KV");
}
