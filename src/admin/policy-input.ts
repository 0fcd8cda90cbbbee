/**
 * Admin input as rate-limit policies, in their parsed form (`windowSec`), checked once more before they
 * reach the tenant's object. Problems are named the way the admin API answers them: a map of field path
 * (`policies[0].window`, the field clients send) to message.
 */
import { validationError } from "../errors";
import { MAX_LIMIT, MAX_POLICIES, MAX_WINDOW_SEC, MIN_WINDOW_SEC, POLICY_NAME, type Policy } from "../shared/policy";

/** The problems of a list of policies, by admin field path; empty when valid. */
export function policyProblems(value: unknown, field = "policies"): Record<string, string> {
  if (!Array.isArray(value) || value.length === 0 || value.length > MAX_POLICIES) {
    return { [field]: `Must be a list of 1 to ${MAX_POLICIES} policies` };
  }
  const problems: Record<string, string> = {};
  const names = new Set<string>();
  value.forEach((p: unknown, i) => {
    const at = `${field}[${i}]`;
    const policy = (typeof p === "object" && p !== null ? p : {}) as Record<string, unknown>;
    if (typeof policy.name !== "string" || !POLICY_NAME.test(policy.name)) problems[`${at}.name`] = "Must be 1-32 lowercase letters, digits, - or _";
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

/** Admin input as policies, or VALIDATION_ERROR with `details.fields`. */
export function toPolicies(value: unknown): Policy[] {
  const problems = policyProblems(value);
  if (Object.keys(problems).length > 0) throw validationError(problems, "invalid rate-limit policies");
  return (value as Policy[]).map((p) => ({ name: p.name, limit: p.limit, windowSec: p.windowSec, ...(p.mode === "shadow" ? { mode: "shadow" as const } : {}) }));
}
