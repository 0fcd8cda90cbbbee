/**
 * Request variants generated from an OpenAPI document's schemas, for the conformance test
 * (test/integration/admin-openapi.test.ts). Starting from a documented valid value (a request body's
 * `example`, a parameter's default), each variant changes one place the schema constrains: a required field
 * removed, an unknown field added where the schema closes its object, a value of the wrong type, and probe
 * values on both sides of each constraint (lengths and ranges from the schema's own bounds, enum members
 * and a near miss, and a fixed set of strings for patterns and formats). Whether a variant is valid is for
 * the document to say (the test asks ajv); the API must then agree. Pure: no I/O.
 */

type Schema = Record<string, unknown>;
type Path = Array<string | number>;

export interface Variant {
  label: string;
  value: unknown;
}

/**
 * Strings tried against every pattern or format: durations at and past each unit's bound, page sizes and
 * cursors, names, enum-like words, date-times, and the empty string. Past date-times are left out: "in the
 * future" is a rule JSON Schema cannot state (the document says it in words).
 */
export const PROBE_STRINGS = [
  "", "x", "burst", "Burst!", "a".repeat(33), "1minute", "read", "shdow", "a:b",
  "0s", "1s", "86400s", "86401s", "01m", "1440m", "1441m", "24h", "25h", "0d", "1d", "2d", "7d", "8d",
  "168h", "169h", "604800s", "604801s", "10080m", "10081m", "999999d",
  "0", "1", "099", "100", "101", "1000", "key_0123456789abcdef",
  "2030-06-01T00:00:00Z", "2030-06-01T02:00:00+02:00", "2030-06-01", "2030-06-01T00:00Z", "2030-13-01T00:00:00Z",
];

const isObject = (value: unknown): value is Schema => typeof value === "object" && value !== null && !Array.isArray(value);

function setAt(root: unknown, path: Path, value: unknown): unknown {
  if (path.length === 0) return value;
  const [head, ...rest] = path as [string | number, ...Path];
  const copy = structuredClone(root) as Record<string | number, unknown>;
  copy[head] = setAt(copy[head], rest, value);
  return copy;
}

function removeAt(root: unknown, path: Path): unknown {
  const parent = path.slice(0, -1);
  const last = path.at(-1) as string;
  const copy = structuredClone(root);
  let node = copy as Record<string | number, unknown>;
  for (const key of parent) node = node[key] as Record<string | number, unknown>;
  delete node[last];
  return copy;
}

const where = (path: Path) => (path.length === 0 ? "(root)" : path.map((p) => (typeof p === "number" ? `[${p}]` : `.${p}`)).join("").replace(/^\./, ""));

/** Probe values for one constrained leaf. */
function leafProbes(schema: Schema): unknown[] {
  const out: unknown[] = [];
  if (Array.isArray(schema.enum)) out.push(...(schema.enum as unknown[]), `not-${String(schema.enum[0])}`);
  if (schema.type === "integer" || schema.type === "number") {
    for (const bound of [schema.minimum, schema.maximum]) if (typeof bound === "number") out.push(bound - 1, bound, bound + 1);
    out.push(1.5, "1");
  }
  if (schema.type === "string") {
    if (typeof schema.pattern === "string" || typeof schema.format === "string") out.push(...PROBE_STRINGS);
    for (const bound of [schema.minLength, schema.maxLength]) if (typeof bound === "number") out.push("x".repeat(Math.max(0, bound - 1)), "x".repeat(bound), "x".repeat(bound + 1));
    out.push(12345);
  }
  return out;
}

/**
 * Every variant of `value` (valid for `schema`) that changes one constrained place. `resolve` follows `$ref`s.
 * `isValid(schema, v)` says whether a value is valid for a sub-schema, to pick the branch of an `anyOf`.
 */
export function variants(schema: Schema, value: unknown, resolve: (s: Schema) => Schema, isValid: (s: Schema, v: unknown) => boolean, path: Path = [], root: unknown = value): Variant[] {
  const s = resolve(schema);
  const out: Variant[] = [];
  const at = (label: string, v: unknown) => out.push({ label: `${where(path)}: ${label}`, value: v });

  if (Array.isArray(s.anyOf)) {
    // Each branch in turn, from a value of its own: the example's where it fits, else the simplest one.
    for (const branch of (s.anyOf as Schema[]).map(resolve)) {
      const start = isValid(branch, value) ? value : branch.type === "null" ? null : branch.type === "integer" ? (branch.minimum ?? 0) : undefined;
      if (start === undefined) continue;
      if (start !== value) at(`${JSON.stringify(start)}`, setAt(root, path, start));
      out.push(...variants(branch, start, resolve, isValid, path, setAt(root, path, start)));
    }
    return out;
  }
  if (s.type === "object" && isObject(value)) {
    for (const name of (s.required as string[] | undefined) ?? []) at(`without ${name}`, removeAt(root, [...path, name]));
    if (s.additionalProperties === false) at("with an unknown field", setAt(root, [...path, "zzUnknown"], 1));
    if (typeof s.minProperties === "number" && s.minProperties > 0) at("empty", setAt(root, path, {}));
    const properties = isObject(s.properties) ? s.properties : {};
    for (const [name, v] of Object.entries(value)) {
      const sub = properties[name] ?? (isObject(s.additionalProperties) ? s.additionalProperties : undefined);
      if (isObject(sub)) out.push(...variants(sub, v, resolve, isValid, [...path, name], root));
    }
    const names = isObject(s.propertyNames) ? resolve(s.propertyNames) : undefined;
    const first = Object.values(value)[0];
    if (names !== undefined && first !== undefined) {
      for (const probe of leafProbes(names)) if (typeof probe === "string" && probe !== "" && !Object.hasOwn(value, probe)) at(`key ${JSON.stringify(probe)}`, setAt(root, path, { ...value, [probe]: first }));
    }
    at("not an object", setAt(root, path, []));
    return out;
  }
  if (s.type === "array" && Array.isArray(value)) {
    if (typeof s.minItems === "number" && s.minItems > 0) at("empty", setAt(root, path, []));
    if (typeof s.maxItems === "number" && value.length > 0) at(`${s.maxItems + 1} items`, setAt(root, path, Array.from({ length: s.maxItems + 1 }, () => value[0])));
    if (isObject(s.items) && value.length > 0) out.push(...variants(s.items, value[0], resolve, isValid, [...path, 0], root));
    at("not an array", setAt(root, path, {}));
    return out;
  }
  for (const probe of leafProbes(s)) if (probe !== value) at(JSON.stringify(probe).slice(0, 40), setAt(root, path, probe));
  return out;
}
