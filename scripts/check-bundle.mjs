#!/usr/bin/env node
// CI: proves the production bundle builds (`wrangler deploy --dry-run --env production`, no account
// needed) and that its gzip size stays within the budget. A Worker's script size adds to every cold start,
// so the budget sits far below the platform's limit (3 MiB compressed on the free plan): growth past it is
// a decision, not an accident. docs/deploying.md's figures are checked against the measurement
// (scripts/bundle-figures.mjs), so the document cannot go stale unnoticed.

import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { gzipSync } from "node:zlib";
import { docFigureProblems } from "./bundle-figures.mjs";

export const BUDGET_GZIP_BYTES = 96 * 1024;
const ROOT = fileURLToPath(new URL("..", import.meta.url));
try {
  parseArgs({ options: {} }); // it takes no options: one given (a budget, say) must not be silently ignored
} catch (err) {
  console.error(`bundle: ${err.message} (check:bundle takes no options)`);
  process.exit(2);
}
const outdir = mkdtempSync(path.join(tmpdir(), "onestack-bundle-"));
try {
  for (const env of ["staging", "production"]) {
    execFileSync(process.execPath, [path.join(ROOT, "node_modules", ".bin", "wrangler"), "deploy", "--dry-run", "--env", env, "--outdir", outdir], {
      cwd: ROOT,
      stdio: ["ignore", "ignore", "inherit"],
      timeout: 120_000,
      env: { ...process.env, WRANGLER_SEND_METRICS: "false" },
    });
  }
  const script = readFileSync(path.join(outdir, "index.js"));
  const gzip = gzipSync(script, { level: 9 }).byteLength;
  const kib = (n) => `${(n / 1024).toFixed(1)} KiB`;
  console.log(`bundle: ${kib(script.byteLength)} raw, ${kib(gzip)} gzip; budget ${kib(BUDGET_GZIP_BYTES)} gzip (${((100 * gzip) / BUDGET_GZIP_BYTES).toFixed(0)}% used)`);
  if (gzip > BUDGET_GZIP_BYTES) {
    console.error("bundle: over budget");
    process.exitCode = 1;
  }
  const doc = readFileSync(path.join(ROOT, "docs", "deploying.md"), "utf8");
  for (const problem of docFigureProblems(doc, { rawBytes: script.byteLength, gzipBytes: gzip, budgetBytes: BUDGET_GZIP_BYTES })) {
    console.error(`bundle: docs/deploying.md ${problem}: update it from this output`);
    process.exitCode = 1;
  }
} finally {
  rmSync(outdir, { recursive: true, force: true });
}
