#!/usr/bin/env node
// Writes the admin API's OpenAPI 3.1 document to docs/admin-openapi.json, generated from the same
// schemas the Worker validates with (src/admin/api-spec.ts via src/admin/openapi.ts).
// `--check` (CI): fails when the committed file differs from a fresh generation, and validates the
// document against the OpenAPI 3.1 schema (@seriousme/openapi-schema-validator, offline).

import { build } from "esbuild";
import { Validator } from "@seriousme/openapi-schema-validator";
import { mkdtempSync, readFileSync, rmSync, writeFileSync, mkdirSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";

const ROOT = fileURLToPath(new URL("..", import.meta.url));
const OUT = path.join(ROOT, "docs", "admin-openapi.json");

/** The document as the Worker builds it, for the bundled products document's product names. */
export async function generate() {
  const dir = mkdtempSync(path.join(tmpdir(), "onestack-openapi-"));
  try {
    const file = path.join(dir, "openapi.mjs");
    await build({
      stdin: {
        contents: 'import products from "./config/products.json"; import { buildOpenApi } from "./src/admin/openapi.ts"; export const doc = buildOpenApi(Object.keys(products));',
        resolveDir: ROOT,
        loader: "ts",
      },
      bundle: true,
      format: "esm",
      platform: "node",
      outfile: file,
      logLevel: "error",
    });
    const { doc } = await import(pathToFileURL(file).href);
    return `${JSON.stringify(doc, null, 2)}\n`;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

// A misspelt flag must never silently mean the default (which would rewrite the committed document).
const args = process.argv.slice(2);
const unknown = args.filter((a) => a !== "--check");
if (unknown.length > 0) {
  console.error(`openapi: unknown argument ${unknown[0]} (usage: node scripts/openapi.mjs [--check])`);
  process.exit(2);
}
const text = await generate();
if (args.includes("--check")) {
  let committed = null;
  try {
    committed = readFileSync(OUT, "utf8");
  } catch {
    // reported below
  }
  if (committed !== text) {
    console.error("openapi: docs/admin-openapi.json is stale (or missing): run `npm run openapi` and commit it");
    process.exit(1);
  }
  const result = await new Validator().validate(JSON.parse(text));
  if (!result.valid) {
    console.error("openapi: docs/admin-openapi.json is not a valid OpenAPI document:", JSON.stringify(result.errors, null, 2));
    process.exit(1);
  }
  console.log(`openapi: docs/admin-openapi.json is current and valid OpenAPI ${JSON.parse(text).openapi}`);
} else {
  mkdirSync(path.dirname(OUT), { recursive: true });
  writeFileSync(OUT, text);
  console.log(`openapi: wrote ${path.relative(ROOT, OUT)}`);
}
