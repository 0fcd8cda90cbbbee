/**
 * `GET /__gateway/limits`: the enforced rate-limit policies that apply to the caller (the tenant's and, for
 * an integration key, the key's own), for any valid credential. What each principal sees:
 * - an integration key or a user session: each enforced policy with what remains of it and when it resets;
 * - a portal customer: each enforced policy's name, limit, window and scope, never what remains: the
 *   tenant's budget is shared by all its principals, and its use is the tenant's business, not a customer's.
 * Shadow policies are never shown: they add nothing to what a client sees (docs/rate-limiting.md).
 * It spends no quota: the tenant's object is read (within ADMIN_STORE_TIMEOUT_MS, else 503), never asked
 * for permits. Its own abuse bound: an isolate asks the object at most once per second per caller scope
 * and answers the rest from that reading.
 */
import type { Handler } from "hono";
import type { Principal } from "../auth/principal";
import type { AppEnv } from "../env";
import { storeCall } from "../shared/store-call";
import { secondsToReset } from "./headers";
import { formatWindow } from "../shared/policy";
import type { LimiterStatus } from "./limiter-protocol";

const FRESH_MS = 1_000;
const MAX_CACHED = 10_000;
const readings = new Map<string, { atMs: number; status: LimiterStatus }>();

/** The view of one reading for `principal`, its times moved on by what has passed since it was taken. */
function view(principal: Principal, status: LimiterStatus, ageMs: number) {
  const nowMs = status.nowMs + ageMs;
  const showsUsage = principal.type !== "portal";
  return {
    tenantId: principal.tenantId,
    policies: status.states
      .filter((s) => s.policy.mode !== "shadow")
      .map((s) => ({
        name: s.policy.name,
        limit: s.policy.limit,
        window: formatWindow(s.policy.windowSec),
        mode: "enforce" as const,
        scope: s.policy.scope ?? "tenant",
        ...(showsUsage ? { remaining: s.remaining, resetSeconds: secondsToReset(s, nowMs) } : {}),
      })),
  };
}

export function limitsView(): Handler<AppEnv> {
  return async function limitsView(c) {
    const principal = c.get("principal");
    const keyId = principal.type === "key" ? principal.keyId : null;
    const name = `${principal.tenantId}\n${keyId ?? ""}`;
    const nowMs = Date.now();
    let reading = readings.get(name);
    if (reading === undefined || nowMs - reading.atMs >= FRESH_MS) {
      const stub = c.env.TENANT_LIMITER.getByName(principal.tenantId);
      const status = await storeCall("limiter", c.get("config").admin.storeTimeoutMs, () => stub.status(c.get("config").rateLimit.defaults, keyId));
      if (readings.size >= MAX_CACHED) readings.delete(readings.keys().next().value as string);
      readings.set(name, (reading = { atMs: nowMs, status }));
    }
    c.get("log").decide("answered");
    return c.json(view(principal, reading.status, nowMs - reading.atMs), 200, { "Cache-Control": "no-store" });
  };
}
