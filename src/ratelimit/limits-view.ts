/**
 * `GET /__gateway/limits`: the rate-limit policies that apply to the caller (the tenant's and, for an
 * integration key, the key's own), with what remains of each, for any valid credential. It spends no quota:
 * the tenant's object is read, never asked for permits. Its own abuse bound: an isolate asks the object at
 * most once per second per caller scope and answers the rest from that reading.
 */
import type { Handler } from "hono";
import type { AppEnv } from "../env";
import { secondsUntil } from "./headers";
import { formatWindow } from "../shared/policy";
import type { LimiterStatus } from "./limiter-protocol";

const FRESH_MS = 1_000;
const MAX_CACHED = 10_000;
const readings = new Map<string, { atMs: number; status: LimiterStatus }>();

/** The view of one reading, its times moved on by what has passed since it was taken. */
function view(tenantId: string, status: LimiterStatus, ageMs: number) {
  const nowMs = status.nowMs + ageMs;
  return {
    tenantId,
    policies: status.states.map((s) => ({
      name: s.policy.name,
      limit: s.policy.limit,
      window: formatWindow(s.policy.windowSec),
      mode: s.policy.mode ?? "enforce",
      scope: s.policy.scope ?? "tenant",
      remaining: s.remaining,
      resetSeconds: secondsUntil(s.retryAtMs ?? s.resetMs, nowMs),
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
      const status = await c.env.TENANT_LIMITER.getByName(principal.tenantId).status(c.get("config").rateLimit.defaults, keyId);
      if (readings.size >= MAX_CACHED) readings.delete(readings.keys().next().value as string);
      readings.set(name, (reading = { atMs: nowMs, status }));
    }
    c.get("log").decide("answered");
    return c.json(view(principal.tenantId, reading.status, nowMs - reading.atMs), 200, { "Cache-Control": "no-store" });
  };
}
