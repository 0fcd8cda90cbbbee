#!/usr/bin/env node
// `npm run admin -- <command>`: the gateway's admin API for operators. Plain Node 22, no build step.
// Usage and exit codes: `npm run admin -- --help` (and docs/admin-api.md, "Admin CLI").

import { readFileSync } from "node:fs";
import { allowFlags, parseArgs, UsageError } from "./admin/args.mjs";
import { adminClient, ApiError, NetworkError } from "./admin/client.mjs";
import { auditCommand, keysCommand, limitsCommand, tenantsCommand } from "./admin/commands.mjs";
import { apiErrorText } from "./admin/format.mjs";
import { applyCommand, dumpCommand, planCommand } from "./admin/plan.mjs";

const USAGE = `usage: npm run admin -- <command> [flags]

  tenants list [--limit N] [--cursor C]    the tenants the gateway knows, with key counts and last change
  keys create TENANT --name NAME --access psa=write,rmm=read [--expires-at 2030-01-31T00:00:00Z]
  keys list TENANT                         state, grace end and successor of each key
  keys update TENANT KEY_ID [--name NAME] [--expires-at DATE|never]   no roll: same key, same secret
  keys revoke TENANT KEY_ID
  keys roll TENANT KEY_ID [--grace-period 1h]
  limits get TENANT [--key KEY_ID]
  limits set TENANT [--key KEY_ID] --policy NAME=LIMIT/WINDOW[:shadow] [--policy ...] [--create]
                                           --create: the tenant is new (else an unknown tenant is refused)
  limits reset TENANT [--key KEY_ID]
  plan FILE [--detailed-exitcode]          what apply would change (config/tenants.<env>.json); changes nothing
  apply FILE [--yes]                       make the environment match FILE (asks first unless --yes)
  dump [--out FILE]                        the live state as a tenants file (plan it: "no changes")
  audit TENANT [--limit N] [--cursor C]    admin changes, newest first, with before and after

flags:  --url URL (or ONESTACK_ADMIN_URL)   --secret-file PATH (or ONESTACK_ADMIN_SECRET)
        --json (machine-readable output)    --timeout-ms N (per request, default 10000)
behind Cloudflare Access: CF_ACCESS_CLIENT_ID and CF_ACCESS_CLIENT_SECRET (a service token) from the environment
exit codes: 0 ok, 1 API error (message, code and details printed), 2 usage or file error, 3 network error or
            timeout, 4 unexpected failure. plan --detailed-exitcode: 0 no changes, 2 changes, 1 any error`;

const HELP_POINTER = "run `npm run admin -- --help` for usage";
const COMMON = ["url", "secret-file", "json", "timeout-ms", "help"];
const FLAGS = {
  tenants: ["limit", "cursor"],
  keys: ["name", "access", "expires-at", "grace-period"],
  limits: ["key", "policy", "create"],
  plan: ["detailed-exitcode"],
  apply: ["yes"],
  dump: ["out"],
  audit: ["limit", "cursor"],
};

/** A Cloudflare Access service token from the environment: both halves, or neither. */
function accessToken() {
  const clientId = process.env.CF_ACCESS_CLIENT_ID;
  const clientSecret = process.env.CF_ACCESS_CLIENT_SECRET;
  if (!clientId && !clientSecret) return undefined;
  if (!clientId || !clientSecret) throw new UsageError("a Cloudflare Access service token needs both CF_ACCESS_CLIENT_ID and CF_ACCESS_CLIENT_SECRET");
  return { clientId, clientSecret };
}

function settings(flags) {
  const url = flags.url ?? process.env.ONESTACK_ADMIN_URL;
  if (url === undefined || url === "") throw new UsageError("no admin URL: --url or ONESTACK_ADMIN_URL");
  try {
    new URL(url);
  } catch {
    throw new UsageError("the admin URL is not a URL");
  }
  let secret = process.env.ONESTACK_ADMIN_SECRET || undefined;
  if (flags["secret-file"] !== undefined) {
    try {
      secret = readFileSync(flags["secret-file"], "utf8").replace(/\r?\n$/, "");
    } catch (err) {
      throw new UsageError(`--secret-file: cannot read (${err.code ?? "error"})`);
    }
  }
  const access = accessToken();
  // Behind Access the gateway verifies the Access token itself: the admin secret is then not needed.
  if ((secret === undefined || secret === "") && access === undefined) throw new UsageError("no admin secret: --secret-file or ONESTACK_ADMIN_SECRET (or a Cloudflare Access service token)");
  const timeoutMs = flags["timeout-ms"] === undefined ? 10_000 : Number(flags["timeout-ms"]);
  if (!Number.isSafeInteger(timeoutMs) || timeoutMs < 1) throw new UsageError("--timeout-ms must be a positive integer");
  return { url, secret: secret === "" ? undefined : secret, access, timeoutMs };
}

async function main(argv) {
  const { positionals, flags } = parseArgs(argv);
  const [command, ...rest] = positionals;
  if (flags.help || command === undefined || command === "help") return { text: USAGE, json: { usage: USAGE } };
  if (!Object.hasOwn(FLAGS, command)) throw new UsageError(`unknown command ${JSON.stringify(command)}`);
  allowFlags(flags, [...COMMON, ...FLAGS[command]], command);
  const { url, secret, access, timeoutMs } = settings(flags);
  const api = adminClient({ url, secret, access, timeoutMs });
  const run = async () => {
    if (command === "tenants") return tenantsCommand(api, rest, flags);
    if (command === "keys") return keysCommand(api, rest, flags);
    if (command === "limits") return limitsCommand(api, rest, flags);
    if (command === "audit") return auditCommand(api, rest, flags);
    if (command === "plan") return planCommand(api, rest, { url, detailed: flags["detailed-exitcode"] === true });
    if (command === "dump") return dumpCommand(api, rest, { out: flags.out });
    return applyCommand(api, rest, { url, yes: flags.yes === true });
  };
  try {
    return await run();
  } catch (err) {
    // A gateway that cannot load its configuration answers every admin request 500: say why, from its health.
    if (err instanceof ApiError && err.status >= 500 && err.code !== "SERVICE_UNAVAILABLE") await explainWithHealth(api, err);
    throw err;
  }
}

async function explainWithHealth(api, err) {
  try {
    const { status, body } = await api.health();
    const config = body?.details?.config;
    if (status === 503 && config?.valid === false) err.hint = `the gateway's configuration is invalid (field ${config.field}, as its health endpoint reports): fix it and deploy again`;
  } catch {
    // the original error stands
  }
}

const argv = process.argv.slice(2);
const asJson = argv.includes("--json");
const detailed = argv.includes("--detailed-exitcode");
try {
  const out = await main(argv);
  process.stdout.write(`${asJson ? JSON.stringify(out.json, null, 2) : out.text}\n`);
  process.exitCode = out.exitCode ?? 0;
} catch (err) {
  const progress = err?.progress ? `\n${err.progress}` : "";
  if (err instanceof ApiError) {
    process.stderr.write(`${asJson ? JSON.stringify({ status: err.status, error: err.message, code: err.code, details: err.details, ...(err.hint ? { hint: err.hint } : {}) }) : apiErrorText(err)}${progress}\n`);
    process.exitCode = 1;
  } else if (err instanceof UsageError) {
    process.stderr.write(`error: ${err.message}\n${HELP_POINTER}\n`);
    process.exitCode = 2;
  } else if (err instanceof NetworkError) {
    process.stderr.write(`error: network: ${err.message}${progress}\n`);
    process.exitCode = 3;
  } else {
    process.stderr.write(`error: ${err?.stack ?? err}\n`);
    process.exitCode = 4;
  }
  // Terraform's convention for plan -detailed-exitcode: every error is 1, so 2 always means "changes".
  if (detailed) process.exitCode = 1;
}
