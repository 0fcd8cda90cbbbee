// The keys, limits, tenants, dump and audit commands of scripts/admin.mjs. Each returns `{ json, text }`:
// what `--json` prints, and what a person reads.

import { parseAccessFlag, parsePolicyFlag, UsageError } from "./args.mjs";
import { ApiError, seg } from "./client.mjs";
import { auditTable, keysTable, limitText, tenantsTable } from "./format.mjs";

function need(value, what) {
  if (value === undefined || value === "" || value === true) throw new UsageError(`missing ${what}`);
  return value;
}

const limitPath = (tenantId, keyId) => `/tenants/${seg(tenantId)}${keyId === undefined ? "" : `/keys/${seg(keyId)}`}/rate-limit`;

/** `keys create|list|revoke|roll|update`. */
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
      return { json: rolled, text: `${keysTable([rolled, rolled.previous])}\n\nnew key (shown once, store it now): ${rolled.key}` };
    }
    case "update": {
      // `--expires-at never` removes the expiry.
      const expiry = flags["expires-at"];
      const body = { ...(flags.name !== undefined ? { name: flags.name } : {}), ...(expiry !== undefined ? { expiresAt: expiry === "never" ? null : expiry } : {}) };
      if (Object.keys(body).length === 0) throw new UsageError("keys update: nothing to change (--name NAME, --expires-at DATE|never)");
      const updated = await api.request("PATCH", `${keys}/${seg(need(keyId, "KEY_ID"))}`, body);
      return { json: updated, text: keysTable([updated]) };
    }
    default:
      throw new UsageError(`keys: unknown command ${JSON.stringify(verb ?? "")} (create, list, revoke, roll, update)`);
  }
}

/**
 * Refuses a change to a tenant the gateway does not know (a misspelt tenant would otherwise be created
 * silently), unless `--create` says it is a new tenant on purpose.
 */
async function requireKnownTenant(api, tenantId, create) {
  if (create) return;
  try {
    await api.request("GET", `/tenants/${seg(tenantId)}`);
  } catch (err) {
    if (err instanceof ApiError && err.status === 404) {
      err.hint = `tenant ${tenantId} has no keys, no policies and no admin changes: check the spelling, or pass --create to give a new tenant policies`;
    }
    throw err;
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
      await requireKnownTenant(api, tenantId, flags.create === true);
      view = await api.request("PUT", path, { policies });
      break;
    }
    case "reset":
      await requireKnownTenant(api, tenantId, false);
      view = await api.request("DELETE", path);
      break;
    default:
      throw new UsageError(`limits: unknown command ${JSON.stringify(verb ?? "")} (get, set, reset)`);
  }
  return { json: view, text: limitText(view) };
}

/** `audit TENANT [--limit N] [--cursor C]`: the tenant's admin changes, newest first, with before and after. */
export async function auditCommand(api, [tenantId], flags) {
  const query = new URLSearchParams();
  if (flags.limit !== undefined) query.set("limit", flags.limit);
  if (flags.cursor !== undefined) query.set("cursor", flags.cursor);
  const qs = query.size > 0 ? `?${query}` : "";
  const page = await api.request("GET", `/tenants/${seg(need(tenantId, "TENANT"))}/audit${qs}`);
  const more = page.nextCursor ? `\n\nmore: --cursor ${page.nextCursor}` : "";
  return { json: page, text: `${auditTable(page.data)}${more}` };
}

/** Every tenant the gateway knows, all pages (or one page with --limit / --cursor). */
export async function allTenants(api, flags = {}) {
  const one = flags.limit !== undefined || flags.cursor !== undefined;
  const tenants = [];
  let cursor = flags.cursor;
  do {
    const query = new URLSearchParams();
    if (flags.limit !== undefined) query.set("limit", flags.limit);
    if (cursor !== undefined && cursor !== null) query.set("cursor", cursor);
    const page = await api.request("GET", `/tenants${query.size > 0 ? `?${query}` : ""}`);
    tenants.push(...page.data);
    cursor = page.nextCursor;
    if (one) return { tenants, nextCursor: cursor };
  } while (cursor !== null);
  return { tenants, nextCursor: null };
}

/** `tenants list [--limit N] [--cursor C]`. */
export async function tenantsCommand(api, [verb], flags) {
  if (verb !== "list") throw new UsageError(`tenants: unknown command ${JSON.stringify(verb ?? "")} (list)`);
  const { tenants, nextCursor } = await allTenants(api, flags);
  const more = nextCursor ? `\n\nmore: --cursor ${nextCursor}` : "";
  return { json: { data: tenants, nextCursor }, text: tenants.length === 0 ? "no tenants" : `${tenantsTable(tenants)}${more}` };
}
