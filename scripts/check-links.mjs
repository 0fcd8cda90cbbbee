#!/usr/bin/env node
// CI: every relative link in every Markdown file of the repository leads somewhere in a fresh clone: the file
// (or folder) exists inside the repository, and a `#anchor` names a heading of the target (GitHub's heading
// ids). Offline: web links are not fetched. Also: docs/spec/errors.md, the vendored error contract, is
// identical to the shared one when a shared/ checkout sits beside the repository (or SHARED_SPEC_DIR names it).
// Usage: node scripts/check-links.mjs [--root DIR]. Exit 0: all good; 1: a broken link or a stale copy.

import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";

const SKIPPED_DIRS = new Set(["node_modules", ".git", ".wrangler", "dist"]);

/** Every .md file under `dir`, skipping dependency and build folders. */
function markdownFiles(dir) {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) return SKIPPED_DIRS.has(entry.name) ? [] : markdownFiles(full);
    return entry.name.endsWith(".md") ? [full] : [];
  });
}

/** The lines outside fenced code blocks as [lineNumber, text with inline code spans blanked, text]. */
function proseLines(text) {
  const lines = [];
  let fence = null;
  text.split("\n").forEach((line, i) => {
    const opener = /^\s*(`{3,}|~{3,})/.exec(line);
    if (opener) {
      if (fence === null) fence = opener[1][0];
      else if (opener[1][0] === fence) fence = null;
      return;
    }
    if (fence === null) lines.push([i + 1, line.replace(/(`+)[^`]*?\1/g, (m) => " ".repeat(m.length)), line]);
  });
  return lines;
}

/** GitHub's id for a heading: its text as rendered, lowercased, punctuation dropped, spaces to hyphens. */
function slug(heading) {
  const text = heading
    .replace(/!?\[([^\]]*)\]\([^)]*\)/g, "$1") // links and images: their text
    .replace(/<[^>]+>/g, "") // inline HTML
    .replace(/[`*]/g, "")
    .trim()
    .toLowerCase();
  return text.replace(/[^\p{L}\p{N}\s_-]/gu, "").replace(/\s/g, "-");
}

/** The anchors a Markdown file offers: its headings' ids (a repeated id gets -1, -2, ...) and explicit `<a id>`/`name`. */
function anchorsOf(text) {
  const anchors = new Set();
  const counts = new Map();
  for (const [, line, raw] of proseLines(text)) {
    const heading = /^#{1,6}\s+(.*?)\s*#*\s*$/.exec(raw);
    if (heading) {
      const base = slug(heading[1]);
      const n = counts.get(base) ?? 0;
      counts.set(base, n + 1);
      anchors.add(n === 0 ? base : `${base}-${n}`);
    }
    for (const m of line.matchAll(/<a\s+(?:id|name)="([^"]+)"/g)) anchors.add(m[1]);
  }
  return anchors;
}

/** The link targets on one line: inline links and images `[x](target "title")`, and reference definitions `[x]: target`. */
function linkTargets(line) {
  const targets = [...line.matchAll(/\]\(\s*<?([^)\s>]*)>?(?:\s+"[^"]*")?\s*\)/g)].map((m) => m[1]);
  const definition = /^\s{0,3}\[[^\]]+\]:\s*<?(\S+?)>?(?:\s|$)/.exec(line);
  if (definition) targets.push(definition[1]);
  return targets;
}

/** The broken links under `root`, as "file:line: target: why". */
export function brokenLinks(root) {
  const problems = [];
  const anchorCache = new Map();
  const anchors = (file) => {
    if (!anchorCache.has(file)) anchorCache.set(file, anchorsOf(readFileSync(file, "utf8")));
    return anchorCache.get(file);
  };
  for (const file of markdownFiles(root)) {
    const rel = path.relative(root, file);
    for (const [n, line] of proseLines(readFileSync(file, "utf8"))) {
      for (const target of linkTargets(line)) {
        if (target === "" || /^[a-z][a-z0-9+.-]*:/i.test(target)) continue; // web, mailto: not checked offline
        const hash = target.indexOf("#");
        const [pathPart, anchor] = hash === -1 ? [target, null] : [target.slice(0, hash), decodeURIComponent(target.slice(hash + 1))];
        const resolved = pathPart === "" ? file : path.resolve(path.dirname(file), decodeURIComponent(pathPart.replace(/\?.*$/, "")));
        const where = `${rel}:${n}: ${target}`;
        if (path.relative(root, resolved).startsWith("..")) problems.push(`${where}: points outside the repository (a fresh clone does not have it)`);
        else if (!existsSync(resolved)) problems.push(`${where}: no such file`);
        else if (anchor !== null && anchor !== "" && statSync(resolved).isFile() && resolved.endsWith(".md") && !anchors(resolved).has(anchor)) problems.push(`${where}: no heading with that anchor`);
      }
    }
  }
  return problems;
}

/** A difference between the vendored error contract and the shared one, when the shared one is present; else null. */
export function staleContract(root, sharedDir) {
  const shared = path.join(sharedDir, "spec", "errors.md");
  if (!existsSync(shared)) return null;
  const vendored = path.join(root, "docs", "spec", "errors.md");
  if (!existsSync(vendored)) return "docs/spec/errors.md is missing (copy it from the shared contract)";
  return readFileSync(vendored, "utf8") === readFileSync(shared, "utf8") ? null : `docs/spec/errors.md differs from ${shared}: copy the shared contract over it`;
}

if (import.meta.filename === process.argv[1]) {
  const { values } = parseArgs({ options: { root: { type: "string" } } });
  const root = path.resolve(values.root ?? fileURLToPath(new URL("..", import.meta.url)));
  const sharedDir = process.env.SHARED_SPEC_DIR ?? path.join(root, "..", "shared");
  const problems = brokenLinks(root);
  const stale = staleContract(root, sharedDir);
  if (stale !== null) problems.push(stale);
  for (const p of problems) console.error(`check:links: ${p}`);
  const compared = existsSync(path.join(sharedDir, "spec", "errors.md")) ? `compared with ${sharedDir}` : "shared/ not present, not compared";
  console.log(`check:links: ${markdownFiles(root).length} Markdown files, ${problems.length} problem(s); error contract ${compared}`);
  if (problems.length > 0) process.exitCode = 1;
}
