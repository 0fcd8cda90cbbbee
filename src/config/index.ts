/**
 * The gateway's configuration, the one module for it: read from the Worker's env vars and the operators'
 * products document (config/products.json, bundled), validated once per env object (once per isolate in
 * production). An invalid configuration is not a crash: every request answers 500
 * INTERNAL_ERROR and the log names the bad field, and the health endpoint reports it.
 */
import productsDoc from "../../config/products.json";
import { parseAdminConfig, type AdminConfig } from "./admin";
import { parseAuthConfig, type AuthConfig } from "./auth";
import { parseCorsConfig, type CorsConfig } from "./cors";
import { parseProducts, type Product } from "./products";
import { parseRateLimitConfig, type RateLimitConfig } from "./rate-limit";
import { ConfigError, expectInt } from "./validate";

export interface GatewayConfig {
  environment: string;
  products: Product[];
  /** Product by its base path (`/psa`). */
  productsByBase: Map<string, Product>;
  /**
   * Request-body bounds. `uploadIdleMs`: longest silence from a client mid-upload. `lingerBytes` /
   * `lingerMs`: how much (and how long) of a refused body is read and discarded before the 413 is sent.
   */
  limits: { maxBodyBytes: number; maxJsonBytes: number; uploadIdleMs: number; lingerBytes: number; lingerMs: number };
  auth: AuthConfig;
  admin: AdminConfig;
  rateLimit: RateLimitConfig;
  cors: CorsConfig;
}

export type ConfigResult = { ok: true; config: GatewayConfig } | { ok: false; error: ConfigError };

/** Builds the configuration from env vars and the products document (the bundled one by default). Throws ConfigError. */
export function parseConfig(vars: Record<string, unknown>, doc: unknown = productsDoc): GatewayConfig {
  const products = parseProducts(doc, vars);
  const environment = typeof vars.ENVIRONMENT === "string" && vars.ENVIRONMENT !== "" ? vars.ENVIRONMENT : "production";
  return {
    environment,
    products,
    productsByBase: new Map(products.map((p) => [p.basePath, p])),
    limits: {
      maxBodyBytes: expectInt(vars.MAX_BODY_BYTES ?? 10 * 1024 * 1024, "MAX_BODY_BYTES", 1, 100 * 1024 * 1024),
      maxJsonBytes: expectInt(vars.MAX_JSON_BYTES ?? 1024 * 1024, "MAX_JSON_BYTES", 1, 10 * 1024 * 1024),
      uploadIdleMs: expectInt(vars.UPLOAD_IDLE_TIMEOUT_MS ?? 30_000, "UPLOAD_IDLE_TIMEOUT_MS", 1, 300_000),
      lingerBytes: expectInt(vars.LINGER_MAX_BYTES ?? 32 * 1024 * 1024, "LINGER_MAX_BYTES", 0, 1024 * 1024 * 1024),
      lingerMs: expectInt(vars.LINGER_TIMEOUT_MS ?? 10_000, "LINGER_TIMEOUT_MS", 0, 60_000),
    },
    auth: parseAuthConfig(vars, environment),
    admin: parseAdminConfig(vars),
    rateLimit: parseRateLimitConfig(vars),
    cors: parseCorsConfig(vars),
  };
}

const cache = new WeakMap<object, ConfigResult>();

/** The validated configuration for this env, computed on first use and cached with the env object. */
export function loadConfig(env: object): ConfigResult {
  let result = cache.get(env);
  if (result === undefined) {
    try {
      result = { ok: true, config: parseConfig(env as Record<string, unknown>) };
    } catch (err) {
      if (!(err instanceof ConfigError)) throw err;
      result = { ok: false, error: err };
    }
    cache.set(env, result);
  }
  return result;
}
