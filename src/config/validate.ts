/**
 * Small validators for configuration, over valibot schemas (the admin API's schema library); each failure
 * is a ConfigError naming the field it is about (src/shared/schema-issues.ts names nested fields).
 */
import * as v from "valibot";
import { isRecord } from "../shared/records";
import { issueField } from "../shared/schema-issues";

/**
 * A configuration field that is wrong: `reason` says why without quoting the value (the health endpoint shows
 * it to anyone); `detail`, when given, is the offending value or part, for the log and the check's output.
 */
export class ConfigError extends Error {
  constructor(
    readonly field: string,
    readonly reason: string,
    readonly detail?: string,
  ) {
    super(`${field}: ${reason}${detail === undefined ? "" : ` (${detail})`}`);
    this.name = "ConfigError";
  }
}

/** The schema's output for a configuration value, or a ConfigError naming `field` (or the nested field at fault). */
export function configValue<S extends v.GenericSchema>(schema: S, value: unknown, field: string): v.InferOutput<S> {
  const result = v.safeParse(schema, value);
  if (result.success) return result.output;
  const issue = result.issues[0];
  throw new ConfigError(issueField(issue, field), issue.message);
}

const OBJECT = v.custom<Record<string, unknown>>(isRecord, "must be an object");
const NON_EMPTY_STRING = v.pipe(v.string("must be a non-empty string"), v.nonEmpty("must be a non-empty string"));

export function expectObject(value: unknown, field: string): Record<string, unknown> {
  return configValue(OBJECT, value, field);
}

export function expectString(value: unknown, field: string): string {
  return configValue(NON_EMPTY_STRING, value, field);
}

/** An integer within [min, max], given as a number or as a decimal string (vars arrive as strings). */
function intSchema(min: number, max: number) {
  const rule = `must be an integer from ${min} to ${max}`;
  return v.pipe(
    v.union([v.number(rule), v.pipe(v.string(rule), v.regex(/^\d+$/, rule), v.transform(Number))], rule),
    v.safeInteger(rule),
    v.minValue(min, rule),
    v.maxValue(max, rule),
  );
}

/** Accepts a number or a decimal string (vars arrive as strings) within [min, max]. */
export function expectInt(value: unknown, field: string, min: number, max: number): number {
  return configValue(intSchema(min, max), value, field);
}
