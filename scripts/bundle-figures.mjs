// The bundle figures docs/deploying.md states, against the ones `npm run check:bundle` measures: the budget
// exactly, the measured sizes within a tolerance (they move a little with every change; a stale figure
// moves a lot). Pure; check-bundle.mjs reads the files.

/** Sizes may drift this far (a fraction) from the documented figure before the document is stale. */
export const DOC_TOLERANCE = 0.1;

const kib = (bytes) => bytes / 1024;

/** Problems with the document's figures: [] when it states all three and each matches the measurement. */
export function docFigureProblems(doc, { rawBytes, gzipBytes, budgetBytes }) {
  const problems = [];
  const measured = /measured: ([\d.]+) KiB raw, ([\d.]+) KiB gzip/.exec(doc);
  const budget = /budget of ([\d.]+) KiB/.exec(doc);
  if (budget === null) problems.push('states no "budget of N KiB"');
  else if (Number(budget[1]) !== kib(budgetBytes)) problems.push(`states a budget of ${budget[1]} KiB; the budget is ${kib(budgetBytes)} KiB`);
  if (measured === null) return [...problems, 'states no "measured: R KiB raw, G KiB gzip"'];
  for (const [stated, actual, what] of [[Number(measured[1]), kib(rawBytes), "raw"], [Number(measured[2]), kib(gzipBytes), "gzip"]]) {
    if (Math.abs(stated - actual) > DOC_TOLERANCE * actual) problems.push(`states ${stated} KiB ${what}; measured ${actual.toFixed(1)} KiB (more than ${DOC_TOLERANCE * 100}% apart)`);
  }
  return problems;
}
