// DEV ONLY — never deployed. The demo PSA backend: tickets (with optimistic locking and unique externalId),
// streamed attachments, and the customer-portal view of tickets. Paths are product-relative: the gateway
// turns `/psa/tickets/42` into `/tickets/42` before it gets here.

import { createHash } from "node:crypto";
import { EnvelopeError, newId, notFound, readJsonObject, validationError } from "./http-util.mjs";
import { createTenantStore } from "./tenant-store.mjs";
import { assertVersion, nextVersion } from "./versioning.mjs";

const PRIORITIES = ["low", "medium", "high", "critical"];
const STATUSES = ["open", "in_progress", "resolved", "closed"];
const OPTIONAL_STRINGS = { description: 10_000, externalId: 200, customerId: 200 };

/**
 * Checks a create/replace (`partial` false: title required) or a patch (`partial` true: only what is
 * present). Returns the accepted fields; throws VALIDATION_ERROR naming every bad field at once.
 */
function validateTicket(input, { partial }) {
  const fields = {};
  const out = {};
  if (!partial || "title" in input) {
    const title = input.title;
    if (typeof title !== "string" || title.trim() === "") fields.title = "Title is required";
    else if (title.length > 200) fields.title = "Must be at most 200 characters";
    else out.title = title;
  }
  if ("priority" in input) {
    if (PRIORITIES.includes(input.priority)) out.priority = input.priority;
    else fields.priority = `Must be one of: ${PRIORITIES.join(", ")}`;
  }
  if ("status" in input) {
    if (STATUSES.includes(input.status)) out.status = input.status;
    else fields.status = `Must be one of: ${STATUSES.join(", ")}`;
  }
  for (const [name, max] of Object.entries(OPTIONAL_STRINGS)) {
    if (!(name in input)) continue;
    const value = input[name];
    if (value === null) out[name] = null;
    else if (typeof value !== "string" || value.length === 0) fields[name] = "Must be a non-empty string or null";
    else if (value.length > max) fields[name] = `Must be at most ${max} characters`;
    else out[name] = value;
  }
  if (Object.keys(fields).length > 0) throw validationError(fields);
  return out;
}

const DEFAULTS = { description: null, priority: "medium", status: "open", externalId: null, customerId: null };

function ticketResult(status, ticket) {
  return { status, body: ticket, headers: { ETag: `"${ticket._etag}"` } };
}

function requireCustomer(identity) {
  if (!identity.customerId) {
    throw validationError({ "X-OneStack-Customer-Id": "Required for portal routes" });
  }
  return identity.customerId;
}

/** Builds the PSA route table over a fresh, private store (so each server instance starts empty). */
export function psaRoutes() {
  const store = createTenantStore();

  function mustGet(tenantId, id) {
    const ticket = store.get(tenantId, id);
    if (!ticket) throw notFound("ticket", id);
    return ticket;
  }

  function assertUniqueExternalId(tenantId, externalId, selfId) {
    if (!externalId) return;
    const existing = store.find(tenantId, (t) => t.externalId === externalId && t.id !== selfId);
    if (existing) {
      throw new EnvelopeError(409, "DUPLICATE_RESOURCE", "A ticket with this externalId already exists", {
        field: "externalId",
        existingId: existing.id,
      });
    }
  }

  async function create({ body, identity }, portalCustomerId) {
    const fields = validateTicket(await readJsonObject(body), { partial: false });
    if (portalCustomerId) fields.customerId = portalCustomerId; // a portal caller cannot file for others
    assertUniqueExternalId(identity.tenantId, fields.externalId);
    const now = new Date().toISOString();
    const ticket = { id: newId("tkt"), title: fields.title, ...DEFAULTS, ...fields, createdAt: now, updatedAt: now, _etag: "v1" };
    return ticketResult(201, store.put(identity.tenantId, ticket));
  }

  /** PATCH merges, PUT replaces (absent fields return to their defaults); both honour `_etag`/If-Match. */
  async function update({ req, body, params, identity }, partial) {
    const current = mustGet(identity.tenantId, params.id);
    const input = await readJsonObject(body);
    assertVersion(req, input, current, "Ticket");
    const fields = validateTicket(input, { partial });
    assertUniqueExternalId(identity.tenantId, fields.externalId, current.id);
    const base = partial ? current : { ...current, ...DEFAULTS };
    const ticket = { ...base, ...fields, updatedAt: new Date().toISOString(), _etag: nextVersion(current._etag) };
    return ticketResult(200, store.put(identity.tenantId, ticket));
  }

  async function attach({ req, body, params, identity }) {
    const ticket = mustGet(identity.tenantId, params.id);
    const hash = createHash("sha256");
    let size = 0;
    for await (const chunk of body) {
      hash.update(chunk);
      size += chunk.length;
    }
    return {
      status: 201,
      body: {
        id: newId("att"),
        ticketId: ticket.id,
        size,
        sha256: hash.digest("hex"),
        contentType: req.headers["content-type"] ?? null,
      },
    };
  }

  return [
    { method: "GET", path: "/tickets", handler: ({ identity }) => ({ status: 200, body: { data: store.list(identity.tenantId) } }) },
    { method: "POST", path: "/tickets", handler: (ctx) => create(ctx, null) },
    { method: "GET", path: "/tickets/:id", handler: ({ params, identity }) => ticketResult(200, mustGet(identity.tenantId, params.id)) },
    { method: "PATCH", path: "/tickets/:id", handler: (ctx) => update(ctx, true) },
    { method: "PUT", path: "/tickets/:id", handler: (ctx) => update(ctx, false) },
    {
      method: "DELETE",
      path: "/tickets/:id",
      handler: ({ req, params, identity }) => {
        assertVersion(req, null, mustGet(identity.tenantId, params.id), "Ticket");
        store.delete(identity.tenantId, params.id);
        return { status: 204 };
      },
    },
    { method: "POST", path: "/tickets/:id/attachments", handler: attach },
    // The export: every ticket at once (the gateway charges it 10 of the tenant's rate-limit units).
    { method: "GET", path: "/exports/tickets", handler: ({ identity }) => ({ status: 200, body: { data: store.list(identity.tenantId), exportedAt: new Date().toISOString() } }) },
    {
      method: "GET",
      path: "/portal/tickets",
      handler: ({ identity }) => {
        const customerId = requireCustomer(identity);
        return { status: 200, body: { data: store.list(identity.tenantId).filter((t) => t.customerId === customerId) } };
      },
    },
    {
      method: "GET",
      path: "/portal/tickets/:id",
      handler: ({ params, identity }) => {
        const customerId = requireCustomer(identity);
        const ticket = store.get(identity.tenantId, params.id);
        // Another customer's ticket is "not found", never "forbidden": its existence is not theirs to learn.
        if (!ticket || ticket.customerId !== customerId) throw notFound("ticket", params.id);
        return ticketResult(200, ticket);
      },
    },
    { method: "POST", path: "/portal/tickets", handler: (ctx) => create(ctx, requireCustomer(ctx.identity)) },
  ];
}
