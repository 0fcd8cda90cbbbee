/**
 * The one mapping from schema issues (valibot's, which follow Standard Schema's `{ message, path }`) to the
 * gateway's field names: `access.psa`, `policies[0].window`, `products.psa.routes[3].method`. Admin input
 * turns these into VALIDATION_ERROR `details.fields`; configuration into a ConfigError naming the field.
 * A shared leaf: it imports nothing from the modules it serves.
 */

/** One path segment as Standard Schema reports it: a key, or an object holding the key. */
type PathSegment = PropertyKey | { readonly key: unknown };

/** The minimal issue shape read here (valibot's BaseIssue and Standard Schema's Issue both have it). */
export interface SchemaIssue {
  readonly message: string;
  readonly path?: ReadonlyArray<PathSegment> | undefined;
}

const PLAIN_KEY = /^[A-Za-z0-9_$-]{1,64}$/;
const MAX_SHOWN = 64;

/**
 * Text a client or a file chose, as the gateway may show it back: every character outside printable ASCII
 * escaped (\uXXXX), `"` and `\` escaped, at most 64 characters shown (then `...`), so it can neither forge
 * text in a terminal or a log nor grow an answer.
 */
export function shownText(text: string): string {
  const shown = [...text].slice(0, MAX_SHOWN).join("");
  const escaped = shown.replace(/[^\x20-\x7e]|["\\]/gu, (ch) => (ch === '"' || ch === "\\" ? `\\${ch}` : Array.from({ length: ch.length }, (_, i) => `\\u${ch.charCodeAt(i).toString(16).padStart(4, "0")}`).join("")));
  return shown.length < text.length ? `${escaped}...` : escaped;
}

/** `field` followed by the object key `key`: `.key` for a plain key, else `["..."]` with the key as shownText shows it. */
export function fieldKey(field: string, key: string): string {
  return PLAIN_KEY.test(key) ? (field === "" ? key : `${field}.${key}`) : `${field}["${shownText(key)}"]`;
}

/** `root`, then `.key` for object keys (fieldKey) and `[i]` for array indexes. */
export function issueField(issue: SchemaIssue, root = ""): string {
  let field = root;
  for (const segment of issue.path ?? []) {
    const key = typeof segment === "object" ? segment.key : segment;
    if (typeof key === "number") field += `[${key}]`;
    else if (typeof key === "symbol" || (typeof key === "object" && key !== null)) field += ".?";
    else field = fieldKey(field, String(key));
  }
  return field === "" ? "body" : field;
}

/** Field name to message; the first issue for a field wins, as the schemas list the most basic check first. */
export function issuesToFields(issues: ReadonlyArray<SchemaIssue>, root = ""): Record<string, string> {
  const fields: Record<string, string> = {};
  for (const issue of issues) {
    const field = issueField(issue, root);
    if (!Object.hasOwn(fields, field)) fields[field] = issue.message;
  }
  return fields;
}
