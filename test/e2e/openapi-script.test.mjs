// `npm run openapi` / `npm run check:openapi` as a contributor runs them: a misspelt flag is refused before
// anything is generated, so `--chek` can never silently rewrite the committed document instead of checking it.
import { execFile } from "node:child_process";
import { readFileSync, statSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";

const ROOT = fileURLToPath(new URL("../..", import.meta.url));
const NODE = path.join(ROOT, "node_modules", ".bin", "node");
const DOC = path.join(ROOT, "docs", "admin-openapi.json");

/** Runs `node scripts/openapi.mjs ...args`; resolves { code, stdout, stderr } (bounded: 120 s). */
function run(args) {
  return new Promise((resolve) => {
    execFile(NODE, [path.join(ROOT, "scripts", "openapi.mjs"), ...args], { cwd: ROOT, timeout: 120_000 }, (err, stdout, stderr) =>
      resolve({ code: err ? (err.code ?? 1) : 0, stdout, stderr }),
    );
  });
}

describe("scripts/openapi.mjs", () => {
  it("refuses an unknown flag with exit 2 and leaves the committed document untouched", async () => {
    const before = { text: readFileSync(DOC, "utf8"), mtimeMs: statSync(DOC).mtimeMs };
    const result = await run(["--chek"]);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain("unknown argument --chek");
    expect(result.stdout).not.toContain("wrote");
    expect(readFileSync(DOC, "utf8")).toBe(before.text);
    expect(statSync(DOC).mtimeMs).toBe(before.mtimeMs);
  });

  it("checks with --check: the committed document is current and valid", async () => {
    const result = await run(["--check"]);
    expect(result.code).toBe(0);
    expect(result.stdout).toContain("is current and valid");
  });
});
