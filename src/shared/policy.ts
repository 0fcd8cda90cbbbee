/**
 * The rate-limit policy vocabulary: the Policy shape, its bounds and the window grammar (`30s`, `1m`, `2h`,
 * `1d`). A request is admitted only if every enforced policy admits it; a `shadow` policy is recorded but
 * never refuses. A shared leaf, because three layers speak it: configuration (the default policies),
 * the admin API (input) and the limiter (enforcement, src/ratelimit/).
 */

export interface Policy {
  name: string;
  limit: number;
  windowSec: number;
  /** `shadow`: evaluated and recorded, never refuses (default `enforce`). */
  mode?: "enforce" | "shadow";
  /** Whose budget it is, set where tenant and key policies are combined (the Durable Object). */
  scope?: "tenant" | "key";
}

export const MIN_WINDOW_SEC = 1;
export const MAX_WINDOW_SEC = 86_400;
export const MAX_LIMIT = 1_000_000;
export const MAX_POLICIES = 4;
const UNIT_SECONDS: Record<string, number> = { s: 1, m: 60, h: 3600, d: 86_400 };
/** A policy name: 1-32 lowercase letters, digits, - or _, starting with a letter. */
export const POLICY_NAME = /^[a-z][a-z0-9_-]{0,31}$/;

/** `90s`, `1m`, `1h`, `1d`: the largest whole unit. */
export function formatWindow(windowSec: number): string {
  for (const [unit, seconds] of [["d", 86_400], ["h", 3600], ["m", 60]] as const) {
    if (windowSec % seconds === 0) return `${windowSec / seconds}${unit}`;
  }
  return `${windowSec}s`;
}

/** The window grammar: up to six digits and a unit, `s`, `m`, `h` or `d` (also a roll's grace period). */
export const WINDOW_PATTERN = /^\d{1,6}[smhd]$/;

/** Parses `30s` / `1m` / `2h` / `1d`; null when malformed. */
export function parseWindow(text: string): number | null {
  const window = text.trim();
  if (!WINDOW_PATTERN.test(window)) return null;
  return Number(window.slice(0, -1)) * (UNIT_SECONDS[window.slice(-1)] ?? 1);
}
