/** Small validators for configuration; each failure names the field it is about. */

export class ConfigError extends Error {
  constructor(
    readonly field: string,
    problem: string,
  ) {
    super(`${field}: ${problem}`);
    this.name = "ConfigError";
  }
}

export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

export function expectObject(value: unknown, field: string): Record<string, unknown> {
  if (!isRecord(value)) throw new ConfigError(field, "must be an object");
  return value;
}

export function expectString(value: unknown, field: string): string {
  if (typeof value !== "string" || value === "") throw new ConfigError(field, "must be a non-empty string");
  return value;
}

/** Accepts a number or a decimal string (vars arrive as strings) within [min, max]. */
export function expectInt(value: unknown, field: string, min: number, max: number): number {
  const n = typeof value === "string" && /^\d+$/.test(value) ? Number(value) : value;
  if (typeof n !== "number" || !Number.isSafeInteger(n) || n < min || n > max) {
    throw new ConfigError(field, `must be an integer from ${min} to ${max}`);
  }
  return n;
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
