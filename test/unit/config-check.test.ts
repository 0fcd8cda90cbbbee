import { describe, expect, it } from "vitest";
import { parseConfig } from "../../src/config";
import { REQUIRED_BINDINGS } from "../../src/config/bindings";
import { checkConfiguration, type ConfigCheckInput } from "../../src/config/check";
import { parseProducts } from "../../src/config/products";
import { GATEWAY_VARS } from "../../src/config/vars";
import { configErrorField } from "../support/config-error";

const route = { method: "GET", path: "/tickets" };
const product = { basePath: "/psa", upstream: "http://x", routes: [route] };

/** The development vars every check below starts from (a valid top-level configuration). */
const DEV_VARS = { ENVIRONMENT: "development", RATE_LIMIT_DEFAULT: "100/1m", ADMIN_SECRET: "dev-admin-secret-change-me" };
/** Stand-ins for the bindings the gateway needs, as scripts/check-config.mjs makes them from wrangler.toml. */
const BINDINGS = Object.fromEntries(REQUIRED_BINDINGS.map((name) => [name, {}]));

function check(overrides: Partial<ConfigCheckInput> & { vars?: Record<string, unknown> } = {}) {
  const vars = overrides.vars ?? DEV_VARS;
  return checkConfiguration({
    productsText: JSON.stringify({ psa: product }),
    env: { ...BINDINGS, ...vars },
    varNames: Object.keys(vars),
    target: { env: null, name: "onestack-gateway-dev", environments: { production: "onestack-gateway" } },
    ...overrides,
  });
}

describe("the configuration check (npm run check:config)", () => {
  it("passes the shipped products document with development vars", () => {
    expect(check()).toEqual([]);
  });

  it("refuses a product written twice (JSON.parse would keep the last), naming it", () => {
    const text = `{"psa": ${JSON.stringify(product)}, "psa": ${JSON.stringify({ ...product, basePath: "/x" })}}`;
    expect(check({ productsText: text })).toEqual([expect.objectContaining({ field: "products.psa", reason: expect.stringContaining("twice") })]);
  });

  it("refuses a duplicate member at any depth, and not strings that merely look like one", () => {
    const nested = '{"psa": {"basePath": "/psa", "upstream": "http://x", "routes": [{"method": "GET", "path": "/a", "path": "/b"}]}}';
    expect(check({ productsText: nested }).map((p) => p.field)).toEqual(["products.psa.routes[0].path"]);
    const escaped = `{"psa": ${JSON.stringify(product)}, "p\\u0073a": ${JSON.stringify(product)}}`;
    expect(check({ productsText: escaped }).map((p) => p.field)).toEqual(["products.psa"]);
    const lookalike = '{"psa": {"basePath": "/psa", "upstream": "ftp://x\\"basePath\\"", "routes": [{"method": "GET", "path": "/a"}]}}';
    expect(check({ productsText: lookalike }).map((p) => p.field)).toEqual(["products.psa.upstream"]);
  });

  it("refuses a products document that is not JSON, saying so", () => {
    expect(check({ productsText: '{"psa": ' })).toEqual([expect.objectContaining({ field: "products", reason: expect.stringContaining("JSON") })]);
  });

  it("refuses a var the gateway does not know, suggesting the close one", () => {
    const vars = { ...DEV_VARS, RATE_LIMT_DEFAULT: "10/1m" };
    expect(check({ vars })).toEqual([{ field: "RATE_LIMT_DEFAULT", reason: "not a var the gateway reads; did you mean RATE_LIMIT_DEFAULT?" }]);
    const far = { ...DEV_VARS, COLOUR: "blue" };
    expect(check({ vars: far })).toEqual([{ field: "COLOUR", reason: "not a var the gateway reads" }]);
  });

  it("knows the per-product vars of the products configured, and only those", () => {
    expect(check({ vars: { ...DEV_VARS, UPSTREAM_PSA: "http://y", UPSTREAM_TIMEOUT_MS_PSA: "500" } })).toEqual([]);
    expect(check({ vars: { ...DEV_VARS, UPSTREAM_PAS: "http://y" } })).toEqual([{ field: "UPSTREAM_PAS", reason: "not a var the gateway reads; did you mean UPSTREAM_PSA?" }]);
  });

  it("runs the Worker's own validation: RATE_LIMIT_FAIL_MODE = close is refused with its reason", () => {
    expect(check({ vars: { ...DEV_VARS, RATE_LIMIT_FAIL_MODE: "close" } })).toEqual([
      { field: "RATE_LIMIT_FAIL_MODE", reason: 'must be "open", "closed" or "reads-open"' },
    ]);
  });

  it("lists every var problem and then the first validation problem, not just one", () => {
    const problems = check({ vars: { ...DEV_VARS, RATE_LIMT_DEFAULT: "1/1m", MAX_JSON_BYTE: "1", MAX_BODY_BYTES: "lots" } });
    expect(problems.map((p) => p.field)).toEqual(["RATE_LIMT_DEFAULT", "MAX_JSON_BYTE", "MAX_BODY_BYTES"]);
  });
});

describe("deployment rules (a development credential never deploys under a deployed name)", () => {
  const deployed = { ENVIRONMENT: "production", JWKS_URL: "https://auth.example/.well-known/jwks.json" };
  const target = { env: "production", name: "onestack-gateway", environments: { production: "onestack-gateway", staging: "onestack-gateway-staging" } };

  it("passes a deployed environment with a remote key set and no plain secrets", () => {
    expect(check({ vars: deployed, target })).toEqual([]);
  });

  it.each([
    ["ADMIN_SECRET", { ADMIN_SECRET: "dev-admin-secret-change-me" }],
    ["ADMIN_SECRET_NEXT", { ADMIN_SECRET_NEXT: "a-long-enough-next-secret" }],
    ["ENVIRONMENT", { ENVIRONMENT: "development" }],
  ])("refuses %s as a plain var (or a development environment) in a deployed environment", (field, extra) => {
    const vars = { ...deployed, ...extra };
    expect(check({ vars, target }).map((p) => p.field)).toContain(field);
  });

  it("refuses the development signing key (a static JWKS) in a deployed environment, even one calling itself development", () => {
    const vars = { ...deployed, ENVIRONMENT: "development", JWKS_URL: "", JWKS: '{"keys":[{"kty":"EC"}]}' };
    expect(check({ vars, target }).map((p) => p.field)).toEqual(["ENVIRONMENT", "JWKS"]);
  });

  it("refuses a Rate Limiting namespace id another environment's binding also uses (ids are per account)", () => {
    const rateLimitNamespaces = { production: { ADMIN_AUTH_LIMITER: "1003", AUTH_FAILURE_LIMITER: "1013" }, staging: { ADMIN_AUTH_LIMITER: "1003", AUTH_FAILURE_LIMITER: "1012" } };
    expect(check({ vars: deployed, target: { ...target, rateLimitNamespaces } })).toEqual([
      { field: "ratelimits.ADMIN_AUTH_LIMITER.namespace_id", reason: "also used by [env.staging] ADMIN_AUTH_LIMITER; each binding of each environment needs its own (unique within the account)" },
    ]);
    const distinct = { ...rateLimitNamespaces, staging: { ADMIN_AUTH_LIMITER: "1002", AUTH_FAILURE_LIMITER: "1012" } };
    expect(check({ vars: deployed, target: { ...target, rateLimitNamespaces: distinct } })).toEqual([]);
  });

  it("refuses an environment without a binding the gateway needs (wrangler does not inherit them)", () => {
    const { KEY_DIRECTORY: _omitted, ...rest } = BINDINGS;
    expect(check({ env: { ...rest, ...deployed }, vars: deployed, target }).map((p) => p.field)).toEqual(["KEY_DIRECTORY"]);
  });

  it("refuses a wrangler.toml field wrangler would ignore, suggesting the one it knows", () => {
    const wranglerFields = { unknown: ["env.production.ratelimit"], known: ["name", "ratelimits", "kv_namespaces"] };
    expect(check({ vars: deployed, target, wranglerFields })).toEqual([
      { field: "env.production.ratelimit", reason: "not a wrangler configuration field (wrangler ignores it); did you mean ratelimits?" },
    ]);
  });

  it("refuses a top level whose Worker name is a deployed environment's", () => {
    const top = { env: null, name: "onestack-gateway", environments: target.environments };
    expect(check({ target: top })).toEqual([{ field: "name", reason: "the top-level (development) Worker must have a name of its own; [env.production] deploys as this name" }]);
  });

  it("refuses a secret's documented development value outside development at run time too", () => {
    expect(configErrorField(() => parseConfig({ ENVIRONMENT: "staging", ADMIN_SECRET: "dev-admin-secret-change-me" }))).toBe("ADMIN_SECRET");
    expect(parseConfig({ ENVIRONMENT: "development", ADMIN_SECRET: "dev-admin-secret-change-me" }).auth.adminSecret).toBe("dev-admin-secret-change-me");
  });
});

describe("products.json: nothing misspelt is silently ignored", () => {
  it.each([
    [{ psa: { ...product, timeoutMS: 500 } }, "products.psa.timeoutMS", "did you mean timeoutMs?"],
    [{ psa: { ...product, rotues: [] } }, "products.psa.rotues", "did you mean routes?"],
    [{ psa: { ...product, routes: [{ ...route, allowMatrixParam: true }] } }, "products.psa.routes[0].allowMatrixParam", "did you mean allowMatrixParams?"],
    [{ psa: { ...product, routes: [{ ...route, permission: "tickets.reed" }] } }, "products.psa.routes[0].permission", "did you mean read?"],
    [{ psa: { ...product, routes: [{ ...route, permission: "scripts.execute" }] } }, "products.psa.routes[0].permission", "read, write or an action the product declares"],
    [{ psa: { ...product, actions: ["read"] } }, "products.psa.actions[0]", "read and write are always known"],
    [{ psa: { ...product, actions: "execute" } }, "products.psa.actions", "array"],
  ])("refuses %j, naming the field (%s)", (doc, field, reason) => {
    let error: unknown;
    try {
      parseProducts(doc, {});
    } catch (err) {
      error = err;
    }
    expect(error).toMatchObject({ field, reason: expect.stringContaining(reason) });
  });

  it("accepts an action the product declares, which needs write access for an integration key", () => {
    const doc = { psa: { ...product, actions: ["execute"], routes: [{ method: "POST", path: "/scripts", permission: "scripts.execute" }] } };
    expect(parseProducts(doc, {})[0]?.routes[0]?.permission).toBe("scripts.execute");
  });

  it("every var the configuration reads is one the check knows", () => {
    const read = new Set<string>();
    const recording = (vars: Record<string, unknown>) =>
      new Proxy(vars, {
        get(target, name) {
          if (typeof name === "string" && /^[A-Z][A-Z0-9_]*$/.test(name)) read.add(name);
          return Reflect.get(target, name) as unknown;
        },
      });
    parseConfig(recording({ ENVIRONMENT: "development", JWKS_URL: "https://a.example/jwks", ACCESS_TEAM_DOMAIN: "https://t.example", ACCESS_AUD: "a" }));
    parseConfig(recording({ ENVIRONMENT: "development", JWKS: '{"keys":[{"kty":"EC"}]}' }));
    const unknown = [...read].filter((name) => !GATEWAY_VARS.includes(name) && !/^UPSTREAM_(TIMEOUT_MS_)?(PSA|RMM)$/.test(name));
    expect(unknown).toEqual([]);
  });
});
