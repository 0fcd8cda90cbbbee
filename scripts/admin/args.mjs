// Command-line parsing for scripts/admin.mjs: positionals and `--flag value` / `--flag=value` / `--switch`.

import { closestName } from "../../src/config/suggest.ts";

/** A mistake in how the CLI was called: exit code 2, one line and a pointer to --help. */
export class UsageError extends Error {
  constructor(message) {
    super(message);
    this.name = "UsageError";
  }
}

const SWITCHES = new Set(["json", "help", "yes", "create", "detailed-exitcode"]);
const VALUE_FLAGS = new Set(["url", "secret-file", "timeout-ms", "name", "access", "expires-at", "grace-period", "key", "policy", "limit", "cursor", "out"]);
const REPEATABLE = new Set(["policy"]);

/** The purpose-written refusal of a secret on the command line (it would show in shell history and `ps`). */
export const SECRET_FLAG_MESSAGE = "--secret is not accepted (it would show in the shell history and process list): use --secret-file or ONESTACK_ADMIN_SECRET";

/** `unknown flag --jsn (did you mean --json?)`. */
export function unknownFlag(name, known) {
  const close = closestName(name, known);
  return new UsageError(`unknown flag --${name}${close === null ? "" : ` (did you mean --${close}?)`}`);
}

/**
 * Splits argv into positionals and flags. Flags in REPEATABLE collect into arrays; SWITCHES take no value;
 * VALUE_FLAGS need one; anything else is an unknown flag, refused here before it can take a value.
 */
export function parseArgs(argv) {
  const positionals = [];
  const flags = Object.create(null);
  for (let i = 0; i < argv.length; i += 1) {
    const arg = argv[i];
    if (!arg.startsWith("--")) {
      positionals.push(arg);
      continue;
    }
    const eq = arg.indexOf("=");
    const name = arg.slice(2, eq === -1 ? undefined : eq);
    if (name === "secret") throw new UsageError(SECRET_FLAG_MESSAGE);
    if (!SWITCHES.has(name) && !VALUE_FLAGS.has(name)) throw unknownFlag(name, [...SWITCHES, ...VALUE_FLAGS]);
    let value = true;
    if (VALUE_FLAGS.has(name)) {
      value = eq === -1 ? argv[(i += 1)] : arg.slice(eq + 1);
      if (value === undefined || (eq === -1 && value.startsWith("--"))) throw new UsageError(`--${name} needs a value`);
    }
    if (REPEATABLE.has(name)) flags[name] = [...(flags[name] ?? []), value];
    else flags[name] = value;
  }
  return { positionals, flags };
}

/** Refuses flags the command does not take, so a misspelt flag never silently means its default. */
export function allowFlags(flags, allowed, command) {
  for (const name of Object.keys(flags)) {
    if (!allowed.includes(name)) throw new UsageError(`--${name} is not a flag of ${command}`);
  }
}

/** `burst=100/1m` or `burst=100/1m:shadow` as a policy `{ name, limit, window[, mode] }`. */
export function parsePolicyFlag(text) {
  const m = /^([^=]+)=(\d+)\/([^:]+)(?::(enforce|shadow))?$/.exec(text);
  if (m === null) throw new UsageError(`--policy ${JSON.stringify(text)}: expected NAME=LIMIT/WINDOW[:shadow], e.g. burst=100/1m`);
  return { name: m[1], limit: Number(m[2]), window: m[3], ...(m[4] !== undefined ? { mode: m[4] } : {}) };
}

/** `psa=write,rmm=read` as a key's access map. */
export function parseAccessFlag(text) {
  const access = {};
  for (const part of String(text).split(",")) {
    const m = /^([^=]+)=(read|write)$/.exec(part.trim());
    if (m === null) throw new UsageError(`--access ${JSON.stringify(text)}: expected PRODUCT=read|write[,PRODUCT=read|write]`);
    access[m[1]] = m[2];
  }
  return access;
}
