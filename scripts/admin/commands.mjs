// The keys and rate-limit commands of scripts/admin.mjs. Each returns `{ json, text }`: what `--json`
// prints, and what a person reads.

import { parseAccessFlag, parsePolicyFlag, UsageError } from "./args.mjs";
import { seg } from "./client.mjs";
import { keysTable, limitText, table } from "./format.mjs";

function need(value, what) {
  if (value === undefined || value === "") throw new UsageError(`missing ${what}`);
  return value;
}

const limitPath = (tenantId, keyId) => `/tenants/${seg(tenantId)}${keyId === undefined ? "" : `/keys/${seg(keyId)}`}/rate-limit`;

/** `keys create|list|revoke|roll`. */
export async function keysCommand(api, [verb, tenantId, keyId], flags) {
  need(tenantId, "TENANT");
  const keys = `/tenants/${seg(tenantId)}/keys`;
  switch (verb) {
    case "create": {
      const body = { name: need(flags.name, "--name"), access: parseAccessFlag(need(flags.access, "--access")), ...(flags["expires-at"] !== undefined ? { expiresAt: flags["expires-at"] } : {}) };
      const created = await api.request("POST", keys, body);
      // The plaintext is shown once, by the API and so by this command; it is not stored anywhere.
      return { json: created, text: `${keysTable([created])}\n\nkey (shown once, store it now): ${created.key}` };
    }
    case "list": {
      const { data } = await api.request("GET", keys);
      return { json: data, text: data.length === 0 ? `no keys for tenant ${tenantId}` : keysTable(data) };
    }
    case "revoke": {
      const revoked = await api.request("DELETE", `${keys}/${seg(need(keyId, "KEY_ID"))}`);
      return { json: revoked, text: keysTable([revoked]) };
    }
    case "roll": {
      const body = flags["grace-period"] !== undefined ? { gracePeriod: flags["grace-period"] } : {};
      const rolled = await api.request("POST", `${keys}/${seg(need(keyId, "KEY_ID"))}/roll`, body);
      return { json: rolled, text: `${keysTable([rolled])}\n\nnew key (shown once, store it now): ${rolled.key}` };
    }
    default:
      throw new UsageError(`keys: unknown command ${JSON.stringify(verb ?? "")} (create, list, revoke, roll)`);
  }
}

/** `limits get|set|reset TENANT [--key KEY_ID]`. */
export async function limitsCommand(api, [verb, tenantId], flags) {
  const path = limitPath(need(tenantId, "TENANT"), flags.key);
  let view;
  switch (verb) {
    case "get":
      view = await api.request("GET", path);
      break;
    case "set": {
      const policies = need(flags.policy, "--policy NAME=LIMIT/WINDOW (repeatable)").map(parsePolicyFlag);
      view = await api.request("PUT", path, { policies });
      break;
    }
    case "reset":
      view = await api.request("DELETE", path);
      break;
    default:
      throw new UsageError(`limits: unknown command ${JSON.stringify(verb ?? "")} (get, set, reset)`);
  }
  return { json: view, text: limitText(view) };
}

/** `audit TENANT [--limit N] [--cursor C]`: the tenant's admin changes, newest first. */
export async function auditCommand(api, [tenantId], flags) {
  const query = new URLSearchParams();
  if (flags.limit !== undefined) query.set("limit", flags.limit);
  if (flags.cursor !== undefined) query.set("cursor", flags.cursor);
  const qs = query.size > 0 ? `?${query}` : "";
  const page = await api.request("GET", `/tenants/${seg(need(tenantId, "TENANT"))}/audit${qs}`);
  const rows = page.data.map((e) => [e.at, e.actor, e.action, e.keyId ?? "-"]);
  const more = page.nextCursor ? `\n\nmore: --cursor ${page.nextCursor}` : "";
  return { json: page, text: `${table(["AT", "ACTOR", "ACTION", "KEY"], rows)}${more}` };
}
