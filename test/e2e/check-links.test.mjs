// The offline link check CI runs (scripts/check-links.mjs): relative links and anchors in every Markdown
// file, and the vendored error contract against the shared one when that is present.
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, describe, expect, it } from "vitest";
import { brokenLinks, staleContract } from "../../scripts/check-links.mjs";

const ROOT = fileURLToPath(new URL("../..", import.meta.url));
const dirs = [];
afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

/** A repository of the given files (path -> text) in a temp folder, inside a parent that also holds `outside.md`. */
function repo(files) {
  const parent = mkdtempSync(path.join(tmpdir(), "onestack-links-"));
  dirs.push(parent);
  writeFileSync(path.join(parent, "outside.md"), "# Outside\n");
  const root = path.join(parent, "repo");
  for (const [name, text] of Object.entries(files)) {
    mkdirSync(path.dirname(path.join(root, name)), { recursive: true });
    writeFileSync(path.join(root, name), text);
  }
  return root;
}

describe("the link check", () => {
  it("finds no broken link in the repository", () => {
    expect(brokenLinks(ROOT)).toEqual([]);
  });

  it("reports a missing file, a link outside the repository and a missing anchor, with file and line", () => {
    const root = repo({
      "README.md": ["# Top", "[ok](docs/a.md#user-session-jwts-authorization-bearer--or-the-cookie) [self](#top)", "[gone](docs/none.md)", "[up](../outside.md)", "[bad anchor](docs/a.md#nope) [web](https://example.com/x)"].join("\n"),
      "docs/a.md": "# A\n\n## User session JWTs (`Authorization: Bearer …` or the cookie)\n\n```md\n[in code](missing.md)\n```\n`[in a span](missing.md)`\n[back](../README.md#top)\n",
    });
    expect(brokenLinks(root)).toEqual([
      "README.md:3: docs/none.md: no such file",
      "README.md:4: ../outside.md: points outside the repository (a fresh clone does not have it)",
      "README.md:5: docs/a.md#nope: no heading with that anchor",
    ]);
  });

  it("numbers repeated headings as GitHub does", () => {
    const root = repo({ "a.md": "# Notes\n## Notes\n[second](#notes-1) [third](#notes-2)\n" });
    expect(brokenLinks(root)).toEqual(["a.md:3: #notes-2: no heading with that anchor"]);
  });

  it("says when the vendored error contract differs from the shared one, and not when shared/ is absent", () => {
    const contract = readFileSync(path.join(ROOT, "docs", "spec", "errors.md"), "utf8");
    const shared = repo({ "spec/errors.md": `${contract}\nA new code.\n` });
    expect(staleContract(ROOT, shared)).toMatch(/^docs\/spec\/errors\.md differs from /);
    expect(staleContract(ROOT, repo({ "spec/errors.md": contract }))).toBeNull();
    expect(staleContract(ROOT, path.join(shared, "no-such-dir"))).toBeNull();
  });
});
