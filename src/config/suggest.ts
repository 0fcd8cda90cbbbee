/** "Did you mean": the known name closest to a misspelt one, for configuration errors that refuse a name. */

/** Edit distance (insert, delete, substitute; a case change counts as one substitution). */
function distance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) {
      current[j] = Math.min((previous[j] ?? 0) + 1, (current[j - 1] ?? 0) + 1, (previous[j - 1] ?? 0) + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
    previous = current;
  }
  return previous[b.length] ?? 0;
}

/** The closest of `known` to `name` when it is a plausible slip (at most 2 edits, or a case change), else null. */
export function closestName(name: string, known: Iterable<string>): string | null {
  let best: string | null = null;
  let bestDistance = Infinity;
  for (const candidate of known) {
    const d = candidate.toLowerCase() === name.toLowerCase() ? 0.5 : distance(name, candidate);
    if (d < bestDistance) [best, bestDistance] = [candidate, d];
  }
  return bestDistance <= Math.min(2, Math.floor(name.length / 3)) || bestDistance === 0.5 ? best : null;
}

/** `reason`, plus `; did you mean X?` when a known name is close. */
export function withSuggestion(reason: string, name: string, known: Iterable<string>): string {
  const close = closestName(name, known);
  return close === null ? reason : `${reason}; did you mean ${close}?`;
}
