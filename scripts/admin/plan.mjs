// `plan FILE` and `apply FILE`: the difference between a tenants file and the live environment, and making
// the environment match it. Apply is idempotent: a second apply finds nothing to do.

import { readFileSync } from "node:fs";
import { createInterface } from "node:readline/promises";
import { UsageError } from "./args.mjs";
import { seg } from "./client.mjs";
import { policiesText } from "./format.mjs";
import { diffEntry, readTenantsFile } from "./tenants-file.mjs";

const limitPath = (e) => `/tenants/${seg(e.tenantId)}${e.keyId === undefined ? "" : `/keys/${seg(e.keyId)}`}/rate-limit`;
const SIGN = { set: "+", change: "~", reset: "-" };

function loadFile(file) {
  let doc;
  try {
    doc = JSON.parse(readFileSync(file, "utf8"));
  } catch (err) {
    throw new UsageError(`${file}: ${err.code === "ENOENT" ? "no such file" : `not JSON (${err.message})`}`);
  }
  return readTenantsFile(doc);
}

/** The target's environment name, from the unauthenticated health endpoint. */
async function targetEnvironment(url, timeoutMs) {
  try {
    const res = await fetch(new URL("/__gateway/health", url), { signal: AbortSignal.timeout(timeoutMs) });
    return (await res.json()).environment ?? null;
  } catch {
    return null;
  }
}

async function computePlan(api, file, url, timeoutMs) {
  const desired = loadFile(file);
  const environment = await targetEnvironment(url, timeoutMs);
  // A file reviewed for one environment is never applied to another by a mistyped URL.
  if (desired.environment !== null && desired.environment !== environment) {
    throw new UsageError(`${file} is for environment ${JSON.stringify(desired.environment)}, but ${new URL(url).origin} is ${JSON.stringify(environment)}`);
  }
  const changes = [];
  for (const entry of desired.entries) {
    const change = diffEntry(entry, await api.request("GET", limitPath(entry)));
    if (change !== null) changes.push(change);
  }
  return { environment, changes, unchanged: desired.entries.length - changes.length };
}

function changeLine(c) {
  const who = c.keyId === undefined ? `tenant ${c.tenantId}` : `key ${c.keyId} of tenant ${c.tenantId}`;
  return `  ${SIGN[c.action]} ${c.action.padEnd(6)} ${who}: ${policiesText(c.before)} -> ${policiesText(c.after)}`;
}

function planText(plan, url) {
  const head = `target: ${new URL(url).origin} (environment ${plan.environment ?? "unknown"})`;
  if (plan.changes.length === 0) return `${head}\nno changes (${plan.unchanged} entries already match)`;
  const counts = ["set", "change", "reset"].map((a) => `${plan.changes.filter((c) => c.action === a).length} ${a}`).join(", ");
  return `${head}\n${plan.changes.map(changeLine).join("\n")}\n${plan.changes.length} changes (${counts}); ${plan.unchanged} unchanged`;
}

/** `plan FILE`: prints what apply would do; changes nothing. */
export async function planCommand(api, [file], { url, timeoutMs }) {
  if (file === undefined) throw new UsageError("missing FILE");
  const plan = await computePlan(api, file, url, timeoutMs);
  return { json: plan, text: planText(plan, url) };
}

/** `apply FILE [--yes]`: the plan, a confirmation (or --yes), then each change in file order. */
export async function applyCommand(api, [file], { url, timeoutMs, yes }) {
  if (file === undefined) throw new UsageError("missing FILE");
  const plan = await computePlan(api, file, url, timeoutMs);
  if (plan.changes.length === 0) return { json: { ...plan, applied: [] }, text: planText(plan, url) };
  if (!yes) {
    if (!process.stdin.isTTY) throw new UsageError("apply needs --yes when not run from a terminal");
    process.stdout.write(`${planText(plan, url)}\n`);
    const rl = createInterface({ input: process.stdin, output: process.stdout });
    const answer = await rl.question(`apply ${plan.changes.length} changes to ${plan.environment ?? "this environment"}? type "yes": `);
    rl.close();
    if (answer.trim() !== "yes") throw new UsageError("not applied");
  }
  const applied = [];
  for (const c of plan.changes) {
    try {
      await api.request(c.action === "reset" ? "DELETE" : "PUT", limitPath(c), c.action === "reset" ? undefined : { policies: c.after });
    } catch (err) {
      // The changes before this one stay applied: say so, and where it stopped.
      err.progress = `applied ${applied.length} of ${plan.changes.length} changes; stopped at:\n${changeLine(c)}\nrun plan again to see what is left`;
      throw err;
    }
    applied.push(c);
  }
  return { json: { ...plan, applied }, text: `${planText(plan, url)}\napplied ${applied.length} changes` };
}
