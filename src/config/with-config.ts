/** Puts the validated configuration on the context; a broken configuration answers 500 and names the field in the log. */
import type { MiddlewareHandler } from "hono";
import { loadConfig } from "./index";
import type { AppEnv } from "../env";
import { GatewayError } from "../errors";

export function withConfig(): MiddlewareHandler<AppEnv> {
  return function withConfig(c, next) {
    const result = loadConfig(c.env);
    if (!result.ok) throw new GatewayError("INTERNAL_ERROR", { logReason: `configuration invalid: ${result.error.message}` });
    c.set("config", result.config);
    return next();
  };
}
