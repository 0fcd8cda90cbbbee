/**
 * Admin API authentication: `Authorization: Bearer <ADMIN_SECRET>`, compared in constant time (both sides
 * hashed first so lengths never differ). Without a configured secret the admin API does not exist: 404.
 */
import type { MiddlewareHandler } from "hono";
import type { AppEnv } from "../env";
import { GatewayError } from "../errors";

async function digest(text: string): Promise<ArrayBuffer> {
  return crypto.subtle.digest("SHA-256", new TextEncoder().encode(text));
}

/** Constant-time string equality. */
export async function secretsEqual(a: string, b: string): Promise<boolean> {
  const [da, db] = await Promise.all([digest(a), digest(b)]);
  return crypto.subtle.timingSafeEqual(da, db);
}

export function adminAuth(): MiddlewareHandler<AppEnv> {
  return async function adminAuth(c, next) {
    const secret = c.get("config").auth.adminSecret;
    if (secret === null) throw new GatewayError("NOT_FOUND", { details: null, logReason: "admin API disabled: no ADMIN_SECRET" });
    const match = /^Bearer (\S+)$/.exec(c.req.header("authorization") ?? "");
    if (match === null || !(await secretsEqual(match[1] ?? "", secret))) {
      throw new GatewayError("UNAUTHORIZED", { logReason: "admin secret missing or wrong" });
    }
    c.get("log").set({ principalType: "admin" });
    await next();
  };
}
