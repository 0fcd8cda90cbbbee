/**
 * The admin API's one validation hook: a schema's issues become VALIDATION_ERROR with `details.fields`
 * (src/shared/schema-issues.ts names the fields). Used directly (`parseInput`) and as Hono's validator
 * convention (`adminValidator`, @hono/standard-validator), so both paths answer alike.
 */
import { sValidator } from "@hono/standard-validator";
import type { StandardSchemaV1 } from "@standard-schema/spec";
import type { ValidationTargets } from "hono";
import * as v from "valibot";
import { issuesToFields } from "../shared/schema-issues";
import { validationError } from "../errors";
import { unknownFields } from "./unknown-fields";

/**
 * The schema's output for `value`, or VALIDATION_ERROR naming every bad field (under `root`, for a bare
 * value). A field the schema does not have is one of them: dropped silently, a misspelt `"mdoe"` would
 * change nothing and answer 200.
 */
export function parseInput<S extends v.GenericSchema>(schema: S, value: unknown, logReason: string, root = ""): v.InferOutput<S> {
  const result = v.safeParse(schema, value);
  const unknown = unknownFields(schema, value);
  if (!result.success || unknown.length > 0) throw validationError(issuesToFields([...unknown, ...(result.issues ?? [])], root), logReason);
  return result.output;
}

/**
 * Hono validator middleware for `target` (query, param, json...) whose failures go through the same
 * mapping, thrown so `app.onError` writes the envelope.
 */
export function adminValidator<T extends keyof ValidationTargets, S extends StandardSchemaV1>(target: T, schema: S) {
  return sValidator(target, schema, (result) => {
    if (!result.success) throw validationError(issuesToFields(result.error), `invalid ${target}`);
  });
}
