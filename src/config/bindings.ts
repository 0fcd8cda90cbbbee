/**
 * The bindings every deployment of the gateway needs (docs/deploying.md, "What an environment needs"):
 * wrangler does not inherit bindings into environments, so an [env.*] that leaves one out would deploy and
 * then fail the requests that reach it. `USAGE` (Analytics Engine) is optional: without it nothing is counted.
 */
import { ConfigError } from "./validate";

export const REQUIRED_BINDINGS: readonly string[] = ["KEYS", "TENANT_LIMITER", "KEY_DIRECTORY", "ADMIN_AUTH_LIMITER", "AUTH_FAILURE_LIMITER"];

/** One ConfigError per required binding `env` does not have (as its own property). */
export function missingBindings(env: Record<string, unknown>): ConfigError[] {
  return REQUIRED_BINDINGS.filter((name) => !Object.hasOwn(env, name) || typeof env[name] !== "object" || env[name] === null).map(
    (name) => new ConfigError(name, "a binding the gateway needs is not declared in this environment (wrangler.toml does not inherit bindings)"),
  );
}
