/**
 * An isolate's bounded memory: `key` set to `value` at the back of `map` (a Map keeps insertion order), and,
 * when the map is full, its oldest entry dropped first, so a cache that anything can fill stays at `max`.
 */
export function remember<V>(map: Map<string, V>, max: number, key: string, value: V): void {
  map.delete(key);
  if (map.size >= max) map.delete(map.keys().next().value as string);
  map.set(key, value);
}

/**
 * `decide` memoized by name, for decisions about header names made on every request: the same few names
 * arrive again and again, and each decision (a fold, set lookups, a score of prefix checks) costs more than
 * one Map lookup. Bounded like any memory a client can fill; `decide` must depend on the name alone.
 */
export function memoizedByName(decide: (name: string) => boolean, max = 1024): (name: string) => boolean {
  const known = new Map<string, boolean>();
  return (name) => {
    let answer = known.get(name);
    if (answer === undefined) remember(known, max, name, (answer = decide(name)));
    return answer;
  };
}
