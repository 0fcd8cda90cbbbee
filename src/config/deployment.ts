/**
 * What may be deployed under which Worker name (docs/deploying.md). The top level of wrangler.toml is local
 * development (the development signing key, the documented admin secret as a plain var); it has a name of
 * its own, so a bare `wrangler deploy` can never replace a deployed environment's Worker. A deployed
 * environment carries no development credential: no static JWKS, no ENVIRONMENT = development (which would
 * allow one), no admin secret as a plain var (secrets are `wrangler secret put`).
 */
import { ConfigError } from "./validate";

export interface DeployTarget {
  /** The wrangler environment (`production`), or null for the top level. */
  env: string | null;
  /** The Worker name this configuration deploys as. */
  name: string;
  /** Every environment in wrangler.toml and the Worker name it deploys as. */
  environments: Record<string, string>;
  /**
   * Each environment's Rate Limiting bindings: binding name to `namespace_id`. A namespace id is unique
   * within a Cloudflare account, so two environments (or bindings) sharing one would share counters.
   */
  rateLimitNamespaces?: Record<string, Record<string, string>>;
}

/** Vars that hold secrets: in a deployed environment only `wrangler secret put` may set them. */
const SECRET_VARS = ["ADMIN_SECRET", "ADMIN_SECRET_NEXT"];

/** The deployment rules `target` with `vars` (the plain vars wrangler.toml gives it) breaks. */
export function deploymentProblems(target: DeployTarget, vars: Record<string, unknown>): ConfigError[] {
  if (target.env === null) {
    const taken = Object.entries(target.environments).find(([, name]) => name === target.name);
    return taken === undefined ? [] : [new ConfigError("name", `the top-level (development) Worker must have a name of its own; [env.${taken[0]}] deploys as this name`)];
  }
  const problems: ConfigError[] = [];
  if (vars.ENVIRONMENT === "development") problems.push(new ConfigError("ENVIRONMENT", "a deployed environment must not be development (it would trust a static JWKS and http key URLs)"));
  if (vars.JWKS !== undefined && vars.JWKS !== "") problems.push(new ConfigError("JWKS", "a static key set (the development signing key) must not be deployed; use JWKS_URL"));
  for (const name of SECRET_VARS) {
    if (Object.hasOwn(vars, name)) problems.push(new ConfigError(name, `a secret, never a plain var in a deployed environment: wrangler secret put ${name} --env ${target.env}`));
  }
  return [...problems, ...sharedNamespaces(target.env, target.rateLimitNamespaces ?? {})];
}

/** The Rate Limiting bindings of `env` whose namespace id another binding (of any deployed environment) also uses. */
function sharedNamespaces(env: string, namespaces: Record<string, Record<string, string>>): ConfigError[] {
  const own = namespaces[env] ?? {};
  return Object.entries(own).flatMap(([binding, id]) => {
    const others = Object.entries(namespaces).flatMap(([otherEnv, bindings]) =>
      Object.entries(bindings).filter(([otherBinding, otherId]) => otherId === id && (otherEnv !== env || otherBinding !== binding)).map(([otherBinding]) => `[env.${otherEnv}] ${otherBinding}`),
    );
    return others.length === 0 ? [] : [new ConfigError(`ratelimits.${binding}.namespace_id`, `also used by ${others.join(", ")}; each binding of each environment needs its own (unique within the account)`)];
  });
}
