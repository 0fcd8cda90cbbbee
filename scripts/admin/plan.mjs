// `plan FILE`, `apply FILE` and `dump`: the difference between a tenants file and the live environment,
// making the environment match it, and the live state as a file. The gateway validates the whole file
// first (its own schemas, unknown fields, the environment, every key named): a file with any problem plans
// nothing and applies nothing. Apply is idempotent: a second apply finds nothing to do.

import { readFileSync, writeFileSync } from "node:fs";
import { createInterface } from "node:readline/promises";
import { UsageError } from "./args.mjs";
import { ApiError, seg } from "./client.mjs";
import { allTenants } from "./commands.mjs";
import { policiesText } from "./format.mjs";
import { diffEntry, tenantsFileOf } from "./tenants-file.mjs";

const limitPath = (e) => `/tenants/${seg(e.tenantId)}${e.keyId === undefined ? "" : `/keys/${seg(e.keyId)}`}/rate-limit`;
const SIGN = { set: "+", change: "~", reset: "-" };

function loadFile(file) {
  try {
    return JSON.parse(readFileSync(file, "utf8"));
  } catch (err) {
    throw new UsageError(`${file}: ${err.code === "ENOENT" ? "no such file" : err.code ? `cannot read (${err.code})` : `not JSON (${err.message})`}`);
  }
}

/** The live limit view of an entry; null for a tenant the gateway does not know yet. */
async function liveView(api, entry) {
  try {
    return await api.request("GET", limitPath(entry));
  } catch (err) {
    if (err instanceof ApiError && err.status === 404 && err.details?.resourceType === "tenant") return null;
    throw err;
  }
}

async function computePlan(api, file) {
  const doc = loadFile(file);
  let validated;
  try {
    validated = await api.request("POST", "/tenants-file/validate", doc);
  } catch (err) {
    if (err instanceof ApiError && err.code === "VALIDATION_ERROR") err.hint = `${file} is not valid: nothing planned, nothing applied`;
    throw err;
  }
  const changes = [];
  for (const entry of validated.entries) {
    const change = diffEntry(entry, await liveView(api, entry));
    if (change !== null) changes.push(change);
  }
  return { environment: validated.environment, changes, unchanged: validated.entries.length - changes.length };
}

function changeLine(c) {
  const who = c.keyId === undefined ? `tenant ${c.tenantId}${c.newTenant ? " (new tenant)" : ""}` : `key ${c.keyId} of tenant ${c.tenantId}`;
  return `  ${SIGN[c.action]} ${c.action.padEnd(6)} ${who}: ${policiesText(c.before)} -> ${policiesText(c.after)}`;
}

function planText(plan, url) {
  const head = `target: ${new URL(url).origin} (environment ${plan.environment})`;
  if (plan.changes.length === 0) return `${head}\nno changes (${plan.unchanged} entries already match)`;
  const counts = ["set", "change", "reset"].map((a) => `${plan.changes.filter((c) => c.action === a).length} ${a}`).join(", ");
  return `${head}\n${plan.changes.map(changeLine).join("\n")}\n${plan.changes.length} changes (${counts}); ${plan.unchanged} unchanged`;
}

/**
 * `plan FILE [--detailed-exitcode]`: prints what apply would do; changes nothing. With --detailed-exitcode
 * the exit code says whether there is drift (Terraform's convention): 0 none, 2 changes, 1 error.
 */
export async function planCommand(api, [file], { url, detailed }) {
  if (file === undefined) throw new UsageError("missing FILE");
  const plan = await computePlan(api, file);
  return { json: plan, text: planText(plan, url), exitCode: detailed && plan.changes.length > 0 ? 2 : 0 };
}

/** `apply FILE [--yes]`: the plan, a confirmation (or --yes), then each change in file order. */
export async function applyCommand(api, [file], { url, yes }) {
  if (file === undefined) throw new UsageError("missing FILE");
  const plan = await computePlan(api, file);
  if (plan.changes.length === 0) return { json: { ...plan, applied: [] }, text: planText(plan, url) };
  if (!yes) {
    if (!process.stdin.isTTY) throw new UsageError("apply needs --yes when not run from a terminal");
    process.stdout.write(`${planText(plan, url)}\n`);
    const rl = createInterface({ input: process.stdin, output: process.stdout });
    const answer = await rl.question(`apply ${plan.changes.length} changes to ${plan.environment}? type "yes": `);
    rl.close();
    if (answer.trim() !== "yes") throw new UsageError("not applied");
  }
  const applied = [];
  for (const c of plan.changes) {
    try {
      await api.request(c.action === "reset" ? "DELETE" : "PUT", limitPath(c), c.action === "reset" ? undefined : { policies: c.after });
    } catch (err) {
      // Only a failure of the gateway itself gets here (the file was validated whole): say where it stopped.
      err.progress = `applied ${applied.length} of ${plan.changes.length} changes; stopped at:\n${changeLine(c)}\nrun plan again to see what is left`;
      throw err;
    }
    applied.push(c);
  }
  return { json: { ...plan, applied }, text: `${planText(plan, url)}\napplied ${applied.length} changes` };
}

/**
 * `dump [--out FILE]`: the live state as a tenants file (every known tenant's policies, null for the
 * default, and every key with policies of its own), which `plan` then shows as "no changes".
 */
export async function dumpCommand(api, _args, { out }) {
  const health = await api.health();
  if (health.status !== 200) throw new ApiError(health.status, health.body);
  const { tenants } = await allTenants(api);
  const states = [];
  for (const t of tenants) {
    const view = await api.request("GET", limitPath({ tenantId: t.tenantId }));
    const keyViews = [];
    for (const keyId of view.keysWithPolicies ?? []) keyViews.push({ keyId, view: await api.request("GET", limitPath({ tenantId: t.tenantId, keyId })) });
    states.push({ tenantId: t.tenantId, view, keyViews });
  }
  const file = tenantsFileOf(health.body.environment, states);
  const text = `${JSON.stringify(file, null, 2)}`;
  if (out !== undefined) {
    writeFileSync(out, `${text}\n`);
    return { json: { written: out, tenants: tenants.length }, text: `wrote ${out}: ${tenants.length} tenants` };
  }
  return { json: file, text };
}
