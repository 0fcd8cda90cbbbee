/**
 * The admin API's input schemas (valibot): one definition each, used to validate requests
 * (src/admin/input.ts, through src/admin/validation-hook.ts) and to generate the OpenAPI document
 * (src/admin/openapi.ts). Messages are the ones clients read in `details.fields`.
 */
import * as v from "valibot";
import { TENANT_ID_PATTERN, TENANT_ID_RULE } from "../shared/tenant-id";
import { GRACE_JSON_PATTERN, PAGE_SIZE_JSON_PATTERN, WINDOW_JSON_PATTERN } from "./json-patterns";
import { MAX_LIMIT, MAX_POLICIES, MAX_WINDOW_SEC, MIN_WINDOW_SEC, parseWindow, POLICY_NAME, WINDOW_PATTERN } from "../shared/policy";

/**
 * How a schema whose shape valibot's converter cannot see (a custom check, a pipe that validates in
 * stages) describes itself in JSON Schema: `v.metadata({ describe })`, read by src/admin/openapi.ts.
 */
export type DescribeFn = (toJson: (schema: v.GenericSchema) => Record<string, unknown>) => Record<string, unknown>;

export const KEY_ID_PATTERN = /^key_[0-9a-f]{16}$/;

const NAME_RULE = "Must be 1-100 characters that display: no control, format (bidi, zero-width), blank (Hangul filler, braille blank), unassigned or unpaired surrogate characters, and no combining mark first";
const POLICY_NAME_RULE = "Must be 1-32 lowercase letters, digits, - or _";
const LIMIT_RULE = `Must be an integer from 1 to ${MAX_LIMIT}`;
const WINDOW_RULE = "Must be a duration from 1s to 1d, like 30s, 1m, 2h";
const POLICIES_RULE = `Must be a list of 1 to ${MAX_POLICIES} policies`;
const EXPIRY_RULE = "Must be an RFC 3339 date-time with a time zone (2030-01-31T00:00:00Z), in the future";

/**
 * `v.object` whose missing-field issue carries that field's own rule (valibot reports a missing key with
 * the object's message): the entry schema is run on `undefined` and its first message used.
 */
export function fields<E extends v.ObjectEntries>(entries: E) {
  return v.object(entries, (issue) => {
    const key = issue.path?.at(-1)?.key;
    if (issue.kind === "schema" && typeof key === "string" && Object.hasOwn(entries, key)) {
      const missing = v.safeParse(entries[key] as v.GenericSchema, undefined);
      if (!missing.success) return missing.issues[0].message;
    }
    return "Must be a JSON object";
  });
}

export const TenantIdSchema = v.pipe(v.string(TENANT_ID_RULE), v.regex(TENANT_ID_PATTERN, TENANT_ID_RULE));
export const KeyIdSchema = v.pipe(v.string(), v.regex(KEY_ID_PATTERN));

/** A window like `30s`, `1m`, `2h`, `1d` between 1 s and 1 day (src/shared/policy.ts reads it). */
export const WindowSchema = v.pipe(
  v.string(WINDOW_RULE),
  v.regex(WINDOW_PATTERN, WINDOW_RULE),
  v.metadata({ describe: (() => ({ type: "string", pattern: WINDOW_JSON_PATTERN, description: WINDOW_RULE })) satisfies DescribeFn }),
  v.check((w) => {
    const sec = parseWindow(w);
    return sec !== null && sec >= MIN_WINDOW_SEC && sec <= MAX_WINDOW_SEC;
  }, WINDOW_RULE),
);

const policyEntries = {
  name: v.pipe(v.string(POLICY_NAME_RULE), v.regex(POLICY_NAME, POLICY_NAME_RULE)),
  limit: v.pipe(v.number(LIMIT_RULE), v.safeInteger(LIMIT_RULE), v.minValue(1, LIMIT_RULE), v.maxValue(MAX_LIMIT, LIMIT_RULE)),
  window: WindowSchema,
};

/**
 * One policy as clients send it: `{ name, limit, window: "1m", mode? }`, the tenant's or a key's; `mode`
 * `shadow` counts without ever refusing (default `enforce`).
 */
const PolicySchema = fields({ ...policyEntries, mode: v.optional(v.picklist(["enforce", "shadow"], 'Must be "enforce" or "shadow"')) });

/** Entries that are not objects are read as `{}`, so each of their fields is named (as before the schemas). */
const asObject = v.transform((p: unknown) => (typeof p === "object" && p !== null && !Array.isArray(p) ? p : {}));

/** 1 to MAX_POLICIES policies with unique names; the length is checked first, then each entry, then names. */
function policyList<T extends v.GenericSchema<unknown, { name: string }>>(item: T) {
  return v.pipe(
    v.array(v.unknown(), POLICIES_RULE),
    v.metadata({ describe: ((toJson) => ({ type: "array", minItems: 1, maxItems: MAX_POLICIES, items: toJson(item), description: "Policy names are unique" })) satisfies DescribeFn }),
    v.minLength(1, POLICIES_RULE),
    v.maxLength(MAX_POLICIES, POLICIES_RULE),
    v.array(v.pipe(v.unknown(), asObject, item)),
    // Runs when other fields are wrong too, so a duplicate name is reported with them.
    v.rawCheck(({ dataset, addIssue }) => {
      const list = dataset.value as unknown;
      if (!Array.isArray(list)) return;
      const seen = new Set<string>();
      list.forEach((p: unknown, i) => {
        const name = typeof p === "object" && p !== null ? (p as { name?: unknown }).name : undefined;
        if (typeof name !== "string" || !POLICY_NAME.test(name)) return;
        if (seen.has(name)) addIssue({ message: "Must be unique", path: [{ type: "array", origin: "value", input: list, key: i, value: p }, { type: "object", origin: "value", input: p as Record<string, unknown>, key: "name", value: name }] });
        seen.add(name);
      });
    }),
  );
}

/** `PUT .../rate-limit` body, for a tenant or one of its keys. */
export const PoliciesBody = fields({ policies: policyList(PolicySchema) });

/** `POST .../keys/:keyId/roll` body (issue 11): how long the old key keeps working, 0s to 1d... as a window string. */
const GRACE_RULE = 'Must be a duration such as "30s", "15m", "1h", "7d", or whole seconds, from 0 to 604800 (7 days)';
export const RollBody = fields({
  gracePeriod: v.optional(
    v.nullable(v.union([v.pipe(v.string(GRACE_RULE), v.regex(WINDOW_PATTERN, GRACE_RULE), v.metadata({ describe: (() => ({ type: "string", pattern: GRACE_JSON_PATTERN })) satisfies DescribeFn })), v.pipe(v.number(GRACE_RULE), v.safeInteger(GRACE_RULE), v.minValue(0, GRACE_RULE), v.maxValue(604_800, GRACE_RULE))], GRACE_RULE)),
  ),
});

/**
 * The create-key body for the configured products. `nowMs` fixes "in the future"; `isSafeName` and
 * `parseTime` are input.ts's display-safety and RFC 3339 readers, passed in to keep one of each.
 */
export function newKeyBody(products: readonly string[], nowMs: number, isSafeName: (value: string) => boolean, parseTime: (text: string) => number | null) {
  const accessRule = `Must map at least one product (${products.join(", ")}) to "read" or "write"`;
  return fields({
    name: v.pipe(v.string(NAME_RULE), v.check(isSafeName, NAME_RULE), v.description(NAME_RULE), v.transform((n) => n.trim())),
    // A custom object check, not v.record: a record drops `constructor` and `__proto__` keys silently,
    // where an operator must be told that they are not products.
    access: v.pipe(
      v.custom<Record<string, unknown>>((a) => typeof a === "object" && a !== null && !Array.isArray(a), accessRule),
      v.metadata({ describe: () => ({ type: "object", propertyNames: { enum: [...products] }, additionalProperties: { enum: ["read", "write"] }, minProperties: 1, description: accessRule }) }),
      v.check((a) => Object.keys(a).length > 0, accessRule),
      v.rawCheck(({ dataset, addIssue }) => {
        if (!dataset.typed) return;
        for (const [product, level] of Object.entries(dataset.value)) {
          const message = !products.includes(product) ? `Unknown product; one of ${products.join(", ")}` : level !== "read" && level !== "write" ? 'Must be "read" or "write"' : null;
          if (message !== null) addIssue({ message, path: [{ type: "object", origin: "value", input: dataset.value, key: product, value: level }] });
        }
      }),
      v.transform((a) => a as Record<string, "read" | "write">),
    ),
    expiresAt: v.optional(
      v.nullable(
        v.pipe(
          v.string(EXPIRY_RULE),
          v.metadata({ describe: (() => ({ type: "string", format: "date-time", description: EXPIRY_RULE })) satisfies DescribeFn }),
          v.check((e) => (parseTime(e) ?? 0) > nowMs, EXPIRY_RULE),
          v.transform((e) => new Date(parseTime(e) as number).toISOString()),
        ),
      ),
      null,
    ),
  });
}

/** `GET .../audit` query: `limit` 1-100 (default 50), `cursor` from the previous page's `nextCursor`. */
export const AuditQuerySchema = v.object({
  limit: v.optional(v.pipe(v.string("Must be one integer from 1 to 100 (given once)"), v.regex(/^\d{1,3}$/, "Must be an integer from 1 to 100"), v.metadata({ describe: (() => ({ type: "string", pattern: PAGE_SIZE_JSON_PATTERN })) satisfies DescribeFn }), v.transform(Number), v.minValue(1, "Must be an integer from 1 to 100"), v.maxValue(100, "Must be an integer from 1 to 100")), "50"),
  cursor: v.optional(v.pipe(v.string("Must be one nextCursor from an earlier page (given once)"), v.regex(/^\d{1,15}$/, "Must be a nextCursor from an earlier page"), v.transform(Number))),
});
