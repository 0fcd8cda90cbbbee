// docs/configuration.md's var table lists exactly the vars the configuration check accepts (src/config/vars.ts):
// "these and no others" stays true as vars are added.
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { GATEWAY_VARS } from "../../src/config/vars.ts";

const doc = readFileSync(new URL("../../docs/configuration.md", import.meta.url), "utf8");

/** The var names in the first column of the "Vars" table (`A`, `B` / `C` forms included). */
function documentedVars() {
  const table = doc.slice(doc.indexOf("## Vars")).split("\n").filter((l) => l.startsWith("| `"));
  return table.flatMap((row) => [...row.split("|")[1].matchAll(/`([A-Z][A-Z0-9_<>]*)`/g)].map((m) => m[1]));
}

describe("docs/configuration.md, Vars", () => {
  it("documents every var the gateway reads, and no other", () => {
    const documented = documentedVars().filter((name) => !name.includes("<"));
    expect([...documented].sort()).toEqual([...GATEWAY_VARS].sort());
  });

  it("documents the per-product vars", () => {
    expect(documentedVars()).toEqual(expect.arrayContaining(["UPSTREAM_<PRODUCT>", "UPSTREAM_TIMEOUT_MS_<PRODUCT>"]));
  });
});
