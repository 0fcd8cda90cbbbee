/**
 * The configuration check behind `npm run check:config`, `npm run deploy` and `npm run dev`: one
 * environment's vars and bindings and the products document as written, judged exactly as the Worker will
 * judge them (parseConfig), plus what the Worker cannot see once deployed: duplicate JSON members (the
 * bundle keeps only the last), vars it does not read, and development credentials under a deployed name.
 * Pure; scripts/check-config.mjs reads wrangler.toml and the files.
 */
import { missingBindings } from "./bindings";
import { parseConfig } from "./index";
import { deploymentProblems, type DeployTarget } from "./deployment";
import { duplicateMember } from "../shared/json-members";
import { withSuggestion } from "./suggest";
import { ConfigError } from "./validate";
import { unknownVars } from "./vars";

export interface ConfigProblem {
  field: string;
  /** Why, without the value (health shows it too). */
  reason: string;
  /** The offending value or part, where it helps the operator; never shown by health. */
  detail?: string;
}

export interface ConfigCheckInput {
  /** config/products.json as written. */
  productsText: string;
  /** What the Worker's env holds: the vars, and a stand-in for each binding. */
  env: Record<string, unknown>;
  /** The names set as vars (wrangler.toml vars, `--var`, .dev.vars), each checked against the vars the gateway reads. */
  varNames: readonly string[];
  target: DeployTarget;
  /**
   * Fields of the environment's wrangler.toml section that wrangler does not know (it warns and ignores
   * them: a misspelt `[[ratelimit]]` would deploy with no binding), as `field` paths, and the ones it knows.
   */
  wranglerFields?: { unknown: readonly string[]; known: readonly string[] };
}

function problem(err: ConfigError): ConfigProblem {
  return err.detail === undefined ? { field: err.field, reason: err.reason } : { field: err.field, reason: err.reason, detail: err.detail };
}

function unknownWranglerFields(fields: ConfigCheckInput["wranglerFields"]): ConfigError[] {
  if (fields === undefined) return [];
  return fields.unknown.map((field) => new ConfigError(field, withSuggestion("not a wrangler configuration field (wrangler ignores it)", field.slice(field.lastIndexOf(".") + 1), fields.known)));
}

/** Every problem found: each unknown var and broken deployment rule, then the first the Worker's validation names. */
export function checkConfiguration(input: ConfigCheckInput): ConfigProblem[] {
  let doc: unknown;
  try {
    doc = JSON.parse(input.productsText);
  } catch (err) {
    return [{ field: "products", reason: "config/products.json is not valid JSON", detail: err instanceof Error ? err.message : String(err) }];
  }
  const duplicate = duplicateMember(input.productsText);
  if (duplicate !== null) {
    const field = duplicate.startsWith("[") ? `products${duplicate}` : `products.${duplicate}`;
    return [{ field, reason: "appears twice in config/products.json (the last would silently replace the first)" }];
  }
  const productNames = doc !== null && typeof doc === "object" ? Object.keys(doc) : [];
  const problems = [...unknownWranglerFields(input.wranglerFields), ...unknownVars(input.varNames, productNames), ...deploymentProblems(input.target, input.env), ...missingBindings(input.env)].map(problem);
  try {
    parseConfig(input.env, doc);
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    problems.push(problem(err));
  }
  return problems;
}
