/**
 * Unknown fields, by a schema's own shape: valibot's `v.object` drops fields it does not know, which in a
 * file an operator wrote means a misspelt field (`"ratelimit"`, `"mdoe"`) silently changes nothing. This
 * walks a schema and the raw input together and names every field the schema does not have, at any depth
 * (objects, arrays, records, optional and nullable wrappers, and schemas inside a pipe).
 */
import type * as v from "valibot";
import type { SchemaIssue } from "../shared/schema-issues";

type Node = v.GenericSchema & { entries?: Record<string, v.GenericSchema>; wrapped?: v.GenericSchema; item?: v.GenericSchema; value?: v.GenericSchema; pipe?: readonly unknown[] };

const isPlainObject = (value: unknown): value is Record<string, unknown> => typeof value === "object" && value !== null && !Array.isArray(value);

/** One issue per field of `input` that `schema` has no entry for. */
export function unknownFields(schema: v.GenericSchema, input: unknown, path: PropertyKey[] = []): SchemaIssue[] {
  const node = schema as Node;
  const issues: SchemaIssue[] = [];
  // A pipe's own schemas (after its root, which is the node itself) apply to the same input.
  for (const step of node.pipe?.slice(1) ?? []) {
    if ((step as { kind?: string }).kind === "schema") issues.push(...unknownFields(step as v.GenericSchema, input, path));
  }
  if (node.wrapped !== undefined) {
    if (input !== undefined && input !== null) issues.push(...unknownFields(node.wrapped, input, path));
  } else if (node.entries !== undefined && isPlainObject(input)) {
    const known = Object.keys(node.entries);
    for (const [name, value] of Object.entries(input)) {
      if (Object.hasOwn(node.entries, name)) issues.push(...unknownFields(node.entries[name] as v.GenericSchema, value, [...path, name]));
      else issues.push({ message: `Unknown field; one of ${known.join(", ")}`, path: [...path, name] });
    }
  } else if (node.item !== undefined && Array.isArray(input)) {
    input.forEach((value, i) => issues.push(...unknownFields(node.item as v.GenericSchema, value, [...path, i])));
  } else if (node.value !== undefined && isPlainObject(input)) {
    for (const [name, value] of Object.entries(input)) issues.push(...unknownFields(node.value, value, [...path, name]));
  }
  return issues;
}

/** The JSON Schema of a schema checked with `unknownFields`: every object with named properties closed to others. */
export function closedJsonSchema(json: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [name, value] of Object.entries(json)) {
    if (Array.isArray(value)) out[name] = value.map((v: unknown) => (isPlainObject(v) ? closedJsonSchema(v) : v));
    else out[name] = isPlainObject(value) ? closedJsonSchema(value) : value;
  }
  // `properties` itself maps names to schemas: a property named "type" must not read as a schema keyword.
  if (json.type === "object" && isPlainObject(json.properties) && json.additionalProperties === undefined) out.additionalProperties = false;
  return out;
}
