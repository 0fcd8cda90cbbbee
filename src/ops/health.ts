/**
 * The health endpoint: no authentication, no upstream call, no rate limit, not counted against any tenant.
 * It reports the build and whether the configuration is valid (the bad field and why, never its value), so
 * a deploy with a broken var is visible at once.
 */
import type { Handler } from "hono";
import pkg from "../../package.json";
import { loadConfig } from "../config";
import type { AppEnv } from "../env";
import { envelopeResponse, GatewayError } from "../errors";

export function health(): Handler<AppEnv> {
  return function health(c) {
    const build = { version: pkg.version, build: typeof c.env.BUILD_VERSION === "string" && c.env.BUILD_VERSION !== "" ? c.env.BUILD_VERSION : null };
    const result = loadConfig(c.env);
    c.get("log").decide("answered");
    if (!result.ok) {
      return envelopeResponse(
        new GatewayError("SERVICE_UNAVAILABLE", { message: "Gateway configuration is invalid", details: { ...build, config: { valid: false, field: result.error.field, reason: result.error.reason } } }),
      );
    }
    return c.json(
      { status: "ok", ...build, environment: result.config.environment, config: { valid: true, products: result.config.products.map((p) => p.name) } },
      200,
      { "Cache-Control": "no-store" },
    );
  };
}
