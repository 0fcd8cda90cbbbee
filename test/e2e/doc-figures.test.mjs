// docs/deploying.md's bundle figures against what `npm run check:bundle` measures (scripts/bundle-figures.mjs).
import { describe, expect, it } from "vitest";
import { docFigureProblems } from "../../scripts/bundle-figures.mjs";

const KiB = 1024;
const doc = "a budget of 96 KiB (measured: 349.9 KiB raw, 77.9 KiB gzip)";

describe("docs/deploying.md's bundle figures", () => {
  it("pass when they are within 10% of the measurement and the budget is exact", () => {
    expect(docFigureProblems(doc, { rawBytes: 360 * KiB, gzipBytes: 75 * KiB, budgetBytes: 96 * KiB })).toEqual([]);
  });

  it("fail when stale: the issue's 177 KiB / 47.4 KiB against 346.6 / 77.0 measured", () => {
    const stale = "a budget of 96 KiB (measured: 177 KiB raw, 47.4 KiB gzip)";
    expect(docFigureProblems(stale, { rawBytes: 346.6 * KiB, gzipBytes: 77 * KiB, budgetBytes: 96 * KiB })).toEqual([
      "states 177 KiB raw; measured 346.6 KiB (more than 10% apart)",
      "states 47.4 KiB gzip; measured 77.0 KiB (more than 10% apart)",
    ]);
  });

  it("fail when the budget differs or a figure is missing", () => {
    expect(docFigureProblems(doc, { rawBytes: 349.9 * KiB, gzipBytes: 77.9 * KiB, budgetBytes: 128 * KiB })).toEqual(["states a budget of 96 KiB; the budget is 128 KiB"]);
    expect(docFigureProblems("no figures", { rawBytes: 1, gzipBytes: 1, budgetBytes: 96 * KiB })).toHaveLength(2);
  });
});
