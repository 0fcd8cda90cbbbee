/**
 * Rate-limit policies: `100/1m`, or several at once `100/1m,2000/1h` (a request is admitted only if every
 * enforced policy admits it; a `shadow` policy is recorded but never refuses). Windows from 1 second to 1 day.
 */
import { validationError } from "../errors";

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
const NAME = /^[a-z][a-z0-9_-]{0,31}$/;

/** `90s`, `1m`, `1h`, `1d`: the largest whole unit. */
export function formatWindow(windowSec: number): string {
  for (const [unit, seconds] of [["d", 86_400], ["h", 3600], ["m", 60]] as const) {
    if (windowSec % seconds === 0) return `${windowSec / seconds}${unit}`;
  }
  return `${windowSec}s`;
}

/** Parses `30s` / `1m` / `2h` / `1d`; null when malformed. */
export function parseWindow(text: string): number | null {
  const m = /^(\d{1,6})([smhd])$/.exec(text.trim());
  return m === null ? null : Number(m[1]) * (UNIT_SECONDS[m[2] ?? "s"] ?? 1);
}

/**
 * Validates a list of policies. Problems are reported the way the admin API answers them: a map of field
 * path to message (empty when valid).
 */
export function policyProblems(value: unknown, field = "policies"): Record<string, string> {
  if (!Array.isArray(value) || value.length === 0 || value.length > MAX_POLICIES) {
    return { [field]: `Must be a list of 1 to ${MAX_POLICIES} policies` };
  }
  const problems: Record<string, string> = {};
  const names = new Set<string>();
  value.forEach((p: unknown, i) => {
    const at = `${field}[${i}]`;
    const policy = (typeof p === "object" && p !== null ? p : {}) as Record<string, unknown>;
    if (typeof policy.name !== "string" || !NAME.test(policy.name)) problems[`${at}.name`] = "Must be 1-32 lowercase letters, digits, - or _";
    else if (names.has(policy.name)) problems[`${at}.name`] = "Must be unique";
    else names.add(policy.name);
    if (!Number.isSafeInteger(policy.limit) || (policy.limit as number) < 1 || (policy.limit as number) > MAX_LIMIT) {
      problems[`${at}.limit`] = `Must be an integer from 1 to ${MAX_LIMIT}`;
    }
    const w = policy.windowSec;
    if (!Number.isSafeInteger(w) || (w as number) < MIN_WINDOW_SEC || (w as number) > MAX_WINDOW_SEC) {
      // Named after the field clients send (`window: "1m"`); `windowSec` is only the parsed form.
      problems[`${at}.window`] = "Must be a duration from 1s to 1d, like 30s, 1m, 2h";
    }
    if (policy.mode !== undefined && policy.mode !== "enforce" && policy.mode !== "shadow") problems[`${at}.mode`] = 'Must be "enforce" or "shadow"';
  });
  return problems;
}

/** Parses the `RATE_LIMIT_DEFAULT` var: `100/1m` or `100/1m,2000/1h`. Throws VALIDATION_ERROR-shaped problems as a message. */
export function parsePolicyList(text: string): Policy[] | string {
  const parts = text.split(",").map((p) => p.trim());
  const policies: Policy[] = [];
  for (const [i, part] of parts.entries()) {
    const m = /^(\d{1,7})\/(\S+)$/.exec(part);
    const windowSec = m === null ? null : parseWindow(m[2] ?? "");
    if (m === null || windowSec === null) return `"${part}" is not LIMIT/WINDOW like 100/1m`;
    policies.push({ name: parts.length === 1 ? "default" : `${formatWindow(windowSec)}`.replace(/^(\d)/, "w$1"), limit: Number(m[1]), windowSec });
    if (i >= MAX_POLICIES) break;
  }
  const problems = policyProblems(policies);
  const first = Object.entries(problems)[0];
  return first === undefined ? policies : `${first[0]}: ${first[1]}`;
}

/** Admin input as policies, or VALIDATION_ERROR with `details.fields`. */
export function toPolicies(value: unknown): Policy[] {
  const problems = policyProblems(value);
  if (Object.keys(problems).length > 0) throw validationError(problems, "invalid rate-limit policies");
  return (value as Policy[]).map((p) => ({ name: p.name, limit: p.limit, windowSec: p.windowSec, ...(p.mode === "shadow" ? { mode: "shadow" as const } : {}) }));
}
