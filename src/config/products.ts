/**
 * Product configuration: each product's base path, upstream, timeout, body policy and route table (the
 * routes themselves: ./routes.ts), validated once with errors that name the bad field
 * (`products.psa.routes[3].method: ...`).
 */
import { isReservedName, ownValue } from "../shared/records";
import { KNOWN_ACTIONS, parseBodyPolicy, parseRoute, type Route } from "./routes";
import { withSuggestion } from "./suggest";
import { ConfigError, expectInt, expectObject, expectString } from "./validate";
import { timeoutVarName, upstreamVarName } from "./vars";

export type Upstream = { kind: "url"; origin: string; basePath: string } | { kind: "service"; binding: string };

export interface Product {
  name: string;
  basePath: string;
  upstream: Upstream;
  timeoutMs: number;
  routes: Route[];
}

const NAME = /^[a-z][a-z0-9]{0,31}$/;
const PRODUCT_FIELDS = ["basePath", "upstream", "timeoutMs", "body", "routes", "actions"];
const ACTION = /^[a-z][a-z0-9_-]*$/;

/**
 * The permission actions a product's routes may use beyond `read` and `write`: its `actions` list (each needs
 * a Read/Write integration key, as `write` does). A route's action must be one of these, so `tickets.reed`
 * is refused rather than silently treated as a write.
 */
function parseActions(value: unknown, field: string): Set<string> {
  const actions = new Set(KNOWN_ACTIONS);
  if (value === undefined) return actions;
  if (!Array.isArray(value)) throw new ConfigError(field, "must be an array of action names");
  value.forEach((a, i) => {
    const action = expectString(a, `${field}[${i}]`);
    if (!ACTION.test(action)) throw new ConfigError(`${field}[${i}]`, "must be lowercase letters, digits, - or _");
    if (actions.has(action)) throw new ConfigError(`${field}[${i}]`, "listed twice (read and write are always known)");
    actions.add(action);
  });
  return actions;
}

/** Parses `http(s)://host[:port][/base]` or `service:BINDING`. */
export function parseUpstream(value: unknown, field: string): Upstream {
  const raw = expectString(value, field);
  if (raw.startsWith("service:")) {
    const binding = raw.slice("service:".length);
    if (!/^[A-Z][A-Z0-9_]*$/.test(binding)) throw new ConfigError(field, "service binding name must be UPPER_SNAKE_CASE");
    return { kind: "service", binding };
  }
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new ConfigError(field, "not a URL");
  }
  if (url.protocol !== "http:" && url.protocol !== "https:") throw new ConfigError(field, "must be http(s) or service:BINDING");
  if (url.username || url.password || url.search || url.hash) throw new ConfigError(field, "must not carry credentials, query or fragment");
  return { kind: "url", origin: url.origin, basePath: url.pathname.replace(/\/+$/, "") };
}

/**
 * Validates the products document and applies start-up overrides (`UPSTREAM_<NAME>` and
 * `UPSTREAM_TIMEOUT_MS_<NAME>` vars). Throws
 * ConfigError naming the first bad field.
 */
export function parseProducts(doc: unknown, vars: Record<string, unknown>): Product[] {
  const products = expectObject(doc, "products");
  const names = Object.keys(products);
  if (names.length === 0) throw new ConfigError("products", "at least one product is required");
  const seenBase = new Set<string>();
  return names.map((name) => {
    const field = `products.${name}`;
    if (!NAME.test(name)) throw new ConfigError(field, "product name must be lowercase letters and digits");
    // A product name indexes key access maps; one that every object already has must never be a product.
    if (isReservedName(name)) throw new ConfigError(field, "product name is reserved (an Object.prototype name)");
    const p = expectObject(products[name], field);
    // A misspelt field (`timeoutMS`) must not silently leave its setting at the default.
    for (const key of Object.keys(p)) if (!PRODUCT_FIELDS.includes(key)) throw new ConfigError(`${field}.${key}`, withSuggestion("unknown product field", key, PRODUCT_FIELDS));
    const actions = parseActions(p.actions, `${field}.actions`);
    const basePath = expectString(p.basePath, `${field}.basePath`);
    if (!/^\/[a-z0-9-]+$/.test(basePath)) throw new ConfigError(`${field}.basePath`, "must be one lowercase segment, e.g. /psa");
    if (seenBase.has(basePath)) throw new ConfigError(`${field}.basePath`, "is used by another product");
    seenBase.add(basePath);
    const override = ownValue(vars, upstreamVarName(name));
    const overridden = override !== undefined && override !== "";
    const upstreamField = overridden ? upstreamVarName(name) : `${field}.upstream`;
    const upstream = parseUpstream(overridden ? override : p.upstream, upstreamField);
    // A service upstream must name an own binding that can fetch, not a KV namespace or a var.
    if (upstream.kind === "service" && typeof (ownValue(vars, upstream.binding) as { fetch?: unknown } | undefined)?.fetch !== "function") {
      throw new ConfigError(upstreamField, "the service binding is not bound to a Worker", upstream.binding);
    }
    const timeoutOverride = ownValue(vars, timeoutVarName(name));
    const timeoutMs = timeoutOverride !== undefined && timeoutOverride !== ""
      ? expectInt(timeoutOverride, timeoutVarName(name), 1, 300000)
      : expectInt(p.timeoutMs ?? 10000, `${field}.timeoutMs`, 1, 300000);
    const body = parseBodyPolicy(p.body, `${field}.body`, "json");
    if (!Array.isArray(p.routes) || p.routes.length === 0) throw new ConfigError(`${field}.routes`, "must be a non-empty array");
    const routes = p.routes.map((r, i) => parseRoute(r, `${field}.routes[${i}]`, body, actions));
    const keys = new Set<string>();
    routes.forEach((r, i) => {
      const key = `${r.method} ${r.segments.map((s) => (s.startsWith(":") ? ":" : s)).join("/")}`;
      if (keys.has(key)) throw new ConfigError(`${field}.routes[${i}]`, "duplicates an earlier route", `${r.method} ${r.pattern}`);
      keys.add(key);
    });
    return { name, basePath, upstream, timeoutMs, routes };
  });
}

