/**
 * An isolate's bounded memory: `key` set to `value` at the back of `map` (a Map keeps insertion order), and,
 * when the map is full, its oldest entry dropped first, so a cache that anything can fill stays at `max`.
 */
export function remember<V>(map: Map<string, V>, max: number, key: string, value: V): void {
  map.delete(key);
  if (map.size >= max) map.delete(map.keys().next().value as string);
  map.set(key, value);
}
