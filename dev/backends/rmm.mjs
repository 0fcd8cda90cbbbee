// DEV ONLY — never deployed. The demo RMM backend: devices (with optimistic locking) and script jobs.
// Paths are product-relative: the gateway turns `/rmm/devices/7` into `/devices/7` before it gets here.

import { newId, notFound, readJsonObject, validationError } from "./http-util.mjs";
import { createTenantStore } from "./tenant-store.mjs";
import { assertVersion, nextVersion } from "./versioning.mjs";

const OSES = ["windows", "macos", "linux"];
// RFC 1123 host names: letters, digits, hyphens and dots, at most 253 characters.
const HOSTNAME = /^[A-Za-z0-9](?:[A-Za-z0-9.-]{0,251}[A-Za-z0-9])?$/;
const MAX_SCRIPT_CHARS = 65_536;

/** Create (`partial` false: hostname and os required) or patch (only what is present). */
function validateDevice(input, { partial }) {
  const fields = {};
  const out = {};
  if (!partial || "hostname" in input) {
    if (typeof input.hostname !== "string" || input.hostname === "") fields.hostname = "Hostname is required";
    else if (!HOSTNAME.test(input.hostname)) fields.hostname = "Must be a valid host name";
    else out.hostname = input.hostname;
  }
  if (!partial || "os" in input) {
    if (OSES.includes(input.os)) out.os = input.os;
    else fields.os = `Must be one of: ${OSES.join(", ")}`;
  }
  if (Object.keys(fields).length > 0) throw validationError(fields);
  return out;
}

function deviceResult(status, device) {
  return { status, body: device, headers: { ETag: `"${device._etag}"` } };
}

/** Builds the RMM route table over a fresh, private store (so each server instance starts empty). */
export function rmmRoutes() {
  const store = createTenantStore();

  function mustGet(tenantId, id) {
    const device = store.get(tenantId, id);
    if (!device) throw notFound("device", id);
    return device;
  }

  async function create({ body, identity }) {
    const fields = validateDevice(await readJsonObject(body), { partial: false });
    const now = new Date().toISOString();
    const device = { id: newId("dev"), ...fields, status: "online", createdAt: now, updatedAt: now, _etag: "v1" };
    return deviceResult(201, store.put(identity.tenantId, device));
  }

  async function patch({ req, body, params, identity }) {
    const current = mustGet(identity.tenantId, params.id);
    const input = await readJsonObject(body);
    assertVersion(req, input, current, "Device");
    const fields = validateDevice(input, { partial: true });
    const device = { ...current, ...fields, updatedAt: new Date().toISOString(), _etag: nextVersion(current._etag) };
    return deviceResult(200, store.put(identity.tenantId, device));
  }

  async function runScript({ body, params, identity }) {
    const device = mustGet(identity.tenantId, params.id);
    const { script } = await readJsonObject(body);
    if (typeof script !== "string" || script.trim() === "") throw validationError({ script: "Script is required" });
    if (script.length > MAX_SCRIPT_CHARS) {
      throw validationError({ script: `Must be at most ${MAX_SCRIPT_CHARS} characters` });
    }
    // Accepted, not run: 202 is what a real RMM answers while the agent picks the job up.
    return { status: 202, body: { jobId: newId("job"), deviceId: device.id, status: "queued" } };
  }

  return [
    { method: "GET", path: "/devices", handler: ({ identity }) => ({ status: 200, body: { data: store.list(identity.tenantId) } }) },
    { method: "POST", path: "/devices", handler: create },
    { method: "GET", path: "/devices/:id", handler: ({ params, identity }) => deviceResult(200, mustGet(identity.tenantId, params.id)) },
    { method: "PATCH", path: "/devices/:id", handler: patch },
    {
      method: "DELETE",
      path: "/devices/:id",
      handler: ({ req, params, identity }) => {
        assertVersion(req, null, mustGet(identity.tenantId, params.id), "Device");
        store.delete(identity.tenantId, params.id);
        return { status: 204 };
      },
    },
    { method: "POST", path: "/devices/:id/scripts", handler: runScript },
  ];
}
