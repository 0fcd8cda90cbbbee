/**
 * Plain-object helpers for values read from JSON, configuration or a client: what counts as a record, and
 * lookups that see own properties only. A shared leaf: it imports nothing.
 */

/** A non-null, non-array object. */
export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/**
 * The own value of `name` in `record`, never one inherited from Object.prototype (`constructor`,
 * `toString`, ...): for every lookup where configuration or a client chooses the name.
 */
export function ownValue(record: Record<string, unknown>, name: string): unknown {
  return Object.hasOwn(record, name) ? record[name] : undefined;
}

/** Names an object already answers through its prototype, or that JavaScript treats specially. */
export function isReservedName(name: string): boolean {
  return name in Object.prototype || name === "prototype" || name === "__proto__";
}
