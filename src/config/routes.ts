/**
 * A product's routes as configured: the Route shape the route table matches (src/routing/route-table.ts),
 * the default permission, and the parsing of one route entry with errors naming the field.
 */
import * as v from "valibot";
import { isReadMethod, ROUTE_METHODS } from "../http/methods";
import { withSuggestion } from "./suggest";
import { ConfigError, configValue, expectInt, expectObject, expectString } from "./validate";

export type BodyPolicy = "json" | "any";

export interface Route {
  method: string;
  /** The pattern as configured, e.g. `/tickets/:id`; used in logs and metrics. */
  pattern: string;
  segments: readonly string[];
  permission: string;
  portal: boolean;
  body: BodyPolicy;
  /** Whether `;` path parameters may reach the product on this route (default false). */
  allowMatrixParams: boolean;
  /** Permits one request takes of every rate-limit policy (default 1). */
  cost: number;
}

const METHOD = v.pipe(v.string("must be a non-empty string"), v.nonEmpty("must be a non-empty string"), v.picklist(ROUTE_METHODS, `must be one of ${ROUTE_METHODS.join(", ")}`));
const PERMISSION = /^[a-z][a-z0-9_-]*(?:\.[a-z][a-z0-9_-]*)+$/;
const LITERAL_SEGMENT = /^[A-Za-z0-9._~-]+$/;
const PARAM_SEGMENT = /^:[A-Za-z_][A-Za-z0-9_]*$/;
const ROUTE_FIELDS = ["method", "path", "permission", "portal", "body", "allowMatrixParams", "cost"];
/** The actions every product knows: an integration key's two levels (src/authz/decide.ts). */
export const KNOWN_ACTIONS: readonly string[] = ["read", "write"];
/** The most a route may cost: a cost above a policy's limit could never be admitted. */
const MAX_ROUTE_COST = 1000;


/** The default permission: first resource segment plus `.read` (GET/HEAD) or `.write` (anything else). */
export function derivePermission(method: string, pattern: string): string {
  const first = pattern.split("/").find((s) => s !== "" && !s.startsWith(":")) ?? "root";
  return `${first}.${isReadMethod(method) ? "read" : "write"}`;
}

function parsePattern(value: unknown, field: string): string[] {
  const pattern = expectString(value, field);
  if (!pattern.startsWith("/")) throw new ConfigError(field, "must start with /");
  const segments = pattern === "/" ? [] : pattern.slice(1).split("/");
  segments.forEach((s, i) => {
    const ok = LITERAL_SEGMENT.test(s) || PARAM_SEGMENT.test(s) || (s === "*" && i === segments.length - 1);
    if (!ok || s === "." || s === "..") throw new ConfigError(field, "each segment must be a literal, a :param or a final *", JSON.stringify(s));
  });
  return segments;
}

const BODY_POLICY = v.picklist(["json", "any"], 'must be "json" or "any"');
const OPTIONAL_BOOLEAN = v.optional(v.boolean("must be a boolean"), false);

export function parseBodyPolicy(value: unknown, field: string, fallback: BodyPolicy): BodyPolicy {
  return value === undefined ? fallback : configValue(BODY_POLICY, value, field);
}

function optionalBoolean(value: unknown, field: string): boolean {
  return configValue(OPTIONAL_BOOLEAN, value, field);
}

/**
 * One route entry. `actions`: the permission actions the product knows (read, write and its own); a route's
 * permission must end in one of them.
 */
export function parseRoute(value: unknown, field: string, productBody: BodyPolicy, actions: ReadonlySet<string> = new Set(KNOWN_ACTIONS)): Route {
  const r = expectObject(value, field);
  // A misspelt flag (`allowMatrixParam`) must not silently mean its default.
  for (const name of Object.keys(r)) if (!ROUTE_FIELDS.includes(name)) throw new ConfigError(`${field}.${name}`, withSuggestion("unknown route field", name, ROUTE_FIELDS));
  const method = configValue(METHOD, r.method, `${field}.method`);
  const segments = parsePattern(r.path, `${field}.path`);
  const pattern = `/${segments.join("/")}`;
  const permission = r.permission === undefined ? derivePermission(method, pattern) : expectString(r.permission, `${field}.permission`);
  if (!PERMISSION.test(permission)) throw new ConfigError(`${field}.permission`, "must look like resource.action");
  const action = permission.slice(permission.lastIndexOf(".") + 1);
  if (!actions.has(action)) throw new ConfigError(`${field}.permission`, withSuggestion("the action must be read, write or an action the product declares in its actions", action, actions));
  const portal = optionalBoolean(r.portal, `${field}.portal`);
  const allowMatrixParams = optionalBoolean(r.allowMatrixParams, `${field}.allowMatrixParams`);
  // The permits one request takes of every policy (an export may cost 10); default 1.
  const cost = r.cost === undefined ? 1 : expectInt(r.cost, `${field}.cost`, 1, MAX_ROUTE_COST);
  return { method, pattern, segments, permission, portal, body: parseBodyPolicy(r.body, `${field}.body`, productBody), allowMatrixParams, cost };
}
