// DEV ONLY — never deployed. Shared helpers for the demo product backends that stand behind the gateway in
// `npm run dev` and in the end-to-end tests: JSON replies, the One Stack error envelope, bounded JSON body
// reading, and the identity the gateway forwards.

import { randomBytes } from "node:crypto";
import { finished } from "node:stream/promises";

/** The tenant every request without `X-OneStack-Tenant-Id` belongs to, so plain curl against a backend works. */
export const DEFAULT_TENANT = "demo";

/** Same ceiling as the gateway's MAX_JSON_BYTES default: a JSON body bigger than this is refused, not parsed. */
export const MAX_JSON_BYTES = 1024 * 1024;

/** Thrown by handlers and turned into an envelope by the server; mirrors the gateway's one error type. */
export class EnvelopeError extends Error {
  constructor(status, code, message, details = null, headers = {}) {
    super(message);
    this.status = status;
    this.code = code;
    this.details = details;
    this.headers = headers;
  }
}

/** Writes `body` as JSON with an exact Content-Length (no chunking, so byte-for-byte tests stay simple). */
export function sendJson(res, status, body, headers = {}) {
  const bytes = Buffer.from(JSON.stringify(body));
  res.writeHead(status, {
    "Content-Type": "application/json; charset=utf-8",
    "Content-Length": bytes.length,
    ...headers,
  });
  res.end(bytes);
}

/** Writes the contract's envelope `{ error, code, details }` (shared/spec/errors.md). */
export function sendError(res, status, code, message, details = null, headers = {}) {
  sendJson(res, status, { error: message, code, details }, headers);
}

/** Writes a VALIDATION_ERROR whose `details.fields` maps each bad field to its message. */
export function validationError(fields) {
  return new EnvelopeError(400, "VALIDATION_ERROR", "Validation failed", { fields });
}

/** A 404 in the shape the contract shows: `details: { resourceType, resourceId }`. */
export function notFound(resourceType, resourceId) {
  const label = resourceType[0].toUpperCase() + resourceType.slice(1);
  return new EnvelopeError(404, "NOT_FOUND", `${label} not found`, { resourceType, resourceId });
}

/** Reads the whole (already teed) body stream, giving up with 413 past `limit` bytes. */
export async function readBodyCapped(body, limit = MAX_JSON_BYTES) {
  const chunks = [];
  let size = 0;
  for await (const chunk of body) {
    size += chunk.length;
    // The rest is drained by the server after the reply, so the recorder still sees every byte.
    if (size > limit) {
      throw new EnvelopeError(413, "PAYLOAD_TOO_LARGE", "Request body too large", { limit });
    }
    chunks.push(chunk);
  }
  return Buffer.concat(chunks);
}

/** Parses a JSON object body; empty or malformed is INVALID_JSON, a non-object is VALIDATION_ERROR. */
export async function readJsonObject(body) {
  const text = (await readBodyCapped(body)).toString("utf8");
  let value;
  try {
    value = JSON.parse(text);
  } catch {
    throw new EnvelopeError(400, "INVALID_JSON", "Request body is not valid JSON");
  }
  if (value === null || typeof value !== "object" || Array.isArray(value)) {
    throw validationError({ body: "Must be a JSON object" });
  }
  return value;
}

/** Consumes a stream to its end, discarding the bytes (the recorder's tee still hashes them). */
export async function drain(body) {
  body.resume();
  await finished(body);
}

/** The identity headers the gateway adds; the tenant falls back to the demo tenant. */
export function identityOf(req) {
  return {
    tenantId: req.headers["x-onestack-tenant-id"] || DEFAULT_TENANT,
    principalType: req.headers["x-onestack-principal-type"] ?? null,
    principalId: req.headers["x-onestack-principal-id"] ?? null,
    customerId: req.headers["x-onestack-customer-id"] ?? null,
  };
}

/** Random resource id like `tkt_3f9a…`: unguessable enough that tests cannot collide across tenants. */
export function newId(prefix) {
  return `${prefix}_${randomBytes(8).toString("hex")}`;
}
