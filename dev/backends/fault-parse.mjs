// DEV ONLY — never deployed. The `X-Demo-Fault` header's grammar: which faults exist and their parameters.

import { validationError } from "./http-util.mjs";

export const MAX_SLOW_MS = 120_000;
const MAX_LARGE_BYTES = 1024 ** 3;

const FIXED = new Set([
  "html-502",
  "drop",
  "json-500",
  "envelope-500",
  "json-400",
  "json-422",
  "redirect",
  "redirect-external",
  "hop-headers",
]);
const USAGE =
  "Unknown fault. Use one of: slow=<ms>, html-502, drop, json-500, envelope-500, json-400, json-422, text-<status>, " +
  "empty-<status>, large=<bytes>, large-chunked=<bytes>, large-error=<bytes>[,<status>], redirect, " +
  "redirect-external, hop-headers, stall-error=<status>, stall-body=<status>, raw-status=<status>, reason-tab=<status>, " +
  "body-on=<status>, retry-date=<status>, envelope=<status>,<CODE>, leaky-headers=<status>, " +
  "location=<value>, location-self=<path>, no-read=<ms>, early-error=<status>, trickle=<ms>, cut-body=<bytes>";

function bounded(text, max, what) {
  const n = Number(text);
  if (!Number.isSafeInteger(n) || n > max) {
    throw validationError({ "X-Demo-Fault": `${what} must be an integer from 0 to ${max}` });
  }
  return n;
}

function status(text, min) {
  const n = Number(text);
  if (!(n >= min && n <= 599)) throw validationError({ "X-Demo-Fault": `Status must be ${min}-599` });
  return n;
}

/** Parses the header into `{ mode, ... }`; null when absent; VALIDATION_ERROR when not understood. */
export function parseFault(header) {
  if (header === undefined) return null;
  const value = header.trim();
  if (FIXED.has(value)) return { mode: value };
  let m;
  if ((m = /^slow=(\d+)$/.exec(value))) return { mode: "slow", ms: bounded(m[1], MAX_SLOW_MS, "slow") };
  if ((m = /^(text|empty)-(\d{3})$/.exec(value))) return { mode: m[1], status: status(m[2], 200) };
  if ((m = /^(large|large-chunked)=(\d+)$/.exec(value))) {
    return { mode: m[1], bytes: bounded(m[2], MAX_LARGE_BYTES, "Size") };
  }
  if ((m = /^large-error=(\d+)(?:,(\d{3}))?$/.exec(value))) {
    const bytes = bounded(m[1], MAX_LARGE_BYTES, "Size");
    return { mode: "large-error", bytes, status: status(m[2] ?? "500", 400) };
  }
  if ((m = /^(stall-error|stall-body|reason-tab|body-on|retry-date|leaky-headers)=(\d{3})$/.exec(value))) {
    return { mode: m[1], status: status(m[2], 200) };
  }
  // Any three digits: the point is a status the runtime may or may not accept (101, 199, 600, 999).
  if ((m = /^raw-status=(\d{3})$/.exec(value))) return { mode: "raw-status", status: Number(m[1]) };
  if ((m = /^envelope=(\d{3}),([A-Z_]{1,64})$/.exec(value))) {
    return { mode: "envelope", status: status(m[1], 400), code: m[2] };
  }
  if ((m = /^(location|location-self)=(\S{1,500})$/.exec(value))) return { mode: m[1], location: m[2] };
  if ((m = /^early-error=(\d{3})$/.exec(value))) return { mode: "early-error", status: status(m[1], 400) };
  if ((m = /^cut-body=(\d+)$/.exec(value))) return { mode: "cut-body", bytes: bounded(m[1], MAX_LARGE_BYTES, "Size") };
  if ((m = /^trickle=(\d+)$/.exec(value))) return { mode: "trickle", ms: bounded(m[1], 10_000, "trickle") };
  if ((m = /^no-read=(\d+)$/.exec(value))) return { mode: "no-read", ms: bounded(m[1], MAX_SLOW_MS, "no-read") };
  throw validationError({ "X-Demo-Fault": USAGE });
}

