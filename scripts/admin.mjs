#!/usr/bin/env node
// `npm run admin -- <command>`: the gateway's admin API for operators. Plain Node 22, no build step.
// Usage and exit codes: `npm run admin -- --help` (and docs/admin-api.md, "Admin CLI").

import { readFileSync } from "node:fs";
import { allowFlags, parseArgs, UsageError } from "./admin/args.mjs";
import { adminClient, ApiError, NetworkError } from "./admin/client.mjs";
import { auditCommand, keysCommand, limitsCommand } from "./admin/commands.mjs";
import { apiErrorText } from "./admin/format.mjs";
import { applyCommand, planCommand } from "./admin/plan.mjs";

const USAGE = `usage: npm run admin -- <command> [flags]

  keys create TENANT --name NAME --access psa=write,rmm=read [--expires-at 2030-01-31T00:00:00Z]
  keys list TENANT
  keys revoke TENANT KEY_ID
  keys roll TENANT KEY_ID [--grace-period 1h]
  limits get TENANT [--key KEY_ID]
  limits set TENANT [--key KEY_ID] --policy NAME=LIMIT/WINDOW[:shadow] [--policy ...]
  limits reset TENANT [--key KEY_ID]
  plan FILE                 what apply would change (config/tenants.<env>.json); changes nothing
  apply FILE [--yes]        make the environment match FILE (asks first unless --yes)
  audit TENANT [--limit N] [--cursor C]

flags:  --url URL (or ONESTACK_ADMIN_URL)   --secret-file PATH (or ONESTACK_ADMIN_SECRET)
        --json (machine-readable output)    --timeout-ms N (per request, default 10000)
exit codes: 0 ok, 1 API error (message, code, details printed), 2 usage or file error, 3 network error or timeout, 4 unexpected failure`;

const COMMON = ["url", "secret-file", "json", "timeout-ms", "help"];
const FLAGS = {
  keys: ["name", "access", "expires-at", "grace-period"],
  limits: ["key", "policy"],
  plan: [],
  apply: ["yes"],
  audit: ["limit", "cursor"],
};

function settings(flags) {
  if (flags.secret !== undefined) throw new UsageError("--secret is not accepted (it would show in the shell history and process list): use --secret-file or ONESTACK_ADMIN_SECRET");
  const url = flags.url ?? process.env.ONESTACK_ADMIN_URL;
  if (url === undefined || url === "") throw new UsageError("no admin URL: --url or ONESTACK_ADMIN_URL");
  try {
    new URL(url);
  } catch {
    throw new UsageError("the admin URL is not a URL");
  }
  let secret = process.env.ONESTACK_ADMIN_SECRET;
  if (flags["secret-file"] !== undefined) {
    try {
      secret = readFileSync(flags["secret-file"], "utf8").replace(/\r?\n$/, "");
    } catch (err) {
      throw new UsageError(`--secret-file: cannot read (${err.code ?? "error"})`);
    }
  }
  if (secret === undefined || secret === "") throw new UsageError("no admin secret: --secret-file or ONESTACK_ADMIN_SECRET");
  const timeoutMs = flags["timeout-ms"] === undefined ? 10_000 : Number(flags["timeout-ms"]);
  if (!Number.isSafeInteger(timeoutMs) || timeoutMs < 1) throw new UsageError("--timeout-ms must be a positive integer");
  return { url, secret, timeoutMs };
}

async function main(argv) {
  const { positionals, flags } = parseArgs(argv);
  const [command, ...rest] = positionals;
  if (flags.help || command === undefined || command === "help") return { text: USAGE, json: { usage: USAGE } };
  if (!Object.hasOwn(FLAGS, command)) throw new UsageError(`unknown command ${JSON.stringify(command)}`);
  allowFlags(flags, [...COMMON, ...FLAGS[command]]);
  const { url, secret, timeoutMs } = settings(flags);
  const api = adminClient({ url, secret, timeoutMs });
  if (command === "keys") return keysCommand(api, rest, flags);
  if (command === "limits") return limitsCommand(api, rest, flags);
  if (command === "audit") return auditCommand(api, rest, flags);
  if (command === "plan") return planCommand(api, rest, { url, timeoutMs });
  return applyCommand(api, rest, { url, timeoutMs, yes: flags.yes === true });
}

const asJson = process.argv.includes("--json");
try {
  const out = await main(process.argv.slice(2));
  process.stdout.write(`${asJson ? JSON.stringify(out.json, null, 2) : out.text}\n`);
} catch (err) {
  const progress = err?.progress ? `\n${err.progress}` : "";
  if (err instanceof ApiError) {
    process.stderr.write(`${asJson ? JSON.stringify({ status: err.status, error: err.message, code: err.code, details: err.details }) : apiErrorText(err)}${progress}\n`);
    process.exitCode = 1;
  } else if (err instanceof UsageError) {
    process.stderr.write(`error: ${err.message}\n\n${USAGE}\n`);
    process.exitCode = 2;
  } else if (err instanceof NetworkError) {
    process.stderr.write(`error: network: ${err.message}${progress}\n`);
    process.exitCode = 3;
  } else {
    process.stderr.write(`error: ${err?.stack ?? err}\n`);
    process.exitCode = 4;
  }
}
