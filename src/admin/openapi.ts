/**
 * The admin API's OpenAPI 3.1 document, generated from src/admin/api-spec.ts (valibot schemas converted to
 * JSON Schema 2020-12, OpenAPI 3.1's dialect). Served at `GET /__gateway/admin/openapi.json` and written to
 * docs/admin-openapi.json by `npm run openapi`; CI fails when the committed file differs.
 */
import { toJsonSchema, type JsonSchema } from "@valibot/to-json-schema";
import * as v from "valibot";
import { EnvelopeSchema, OPERATIONS, PATH_PARAMS, type Operation } from "./api-spec";
import type { DescribeFn } from "./schemas";
import { closedJsonSchema } from "./unknown-fields";

export const ADMIN_BASE = "/__gateway/admin";

/**
 * JSON Schema for a valibot schema: its input shape (what a client sends), with validations JSON Schema cannot
 * express (checks, transforms) left out, and a schema's own `metadata({ describe })` taking precedence.
 */
function jsonSchemaOf(schema: v.GenericSchema): JsonSchema {
  const converted = toJsonSchema(schema, {
    target: "draft-2020-12",
    typeMode: "input",
    errorMode: "ignore",
    // A `metadata({ describe })` action replaces what the pipe converted so far (later actions still apply).
    overrideAction: ({ valibotAction }) => {
      const describe = valibotAction.type === "metadata" ? (valibotAction as unknown as { metadata: { describe?: DescribeFn } }).metadata.describe : undefined;
      return describe === undefined ? null : (describe((schema) => jsonSchemaOf(schema) as Record<string, unknown>) as JsonSchema);
    },
  });
  delete converted.$schema;
  return converted;
}

/** `/tenants/:tenantId/keys` as OpenAPI writes it: `/tenants/{tenantId}/keys`. */
export function openApiPath(honoPath: string): string {
  return ADMIN_BASE + honoPath.replace(/:([A-Za-z_]+)/g, "{$1}");
}

const ERROR_DESCRIPTIONS: Record<number, string> = {
  400: "VALIDATION_ERROR (details.fields) or INVALID_JSON",
  401: "UNAUTHORIZED: missing or wrong admin credential",
  404: "NOT_FOUND",
  409: "CONFLICT: the key's state does not allow it (details.state)",
  413: "PAYLOAD_TOO_LARGE: body over the limit (details.limit)",
  429: "RATE_LIMIT_EXCEEDED: too many failed admin authentications from this address",
  503: "SERVICE_UNAVAILABLE: a store did not answer in time; retrying is safe",
};

/** Answers that say when to try again. */
const RETRY_AFTER = { "Retry-After": { required: true, description: "Seconds to wait before trying again", schema: { type: "string", pattern: "^[0-9]+$" } } };

function operationObject(op: Operation, products: readonly string[]): Record<string, unknown> {
  const names = [...op.path.matchAll(/:([A-Za-z_]+)/g)].map((m) => m[1] as string);
  const error = { content: { "application/json": { schema: { $ref: "#/components/schemas/Envelope" } } } };
  const responses: Record<string, unknown> = {
    [String(op.ok.status)]: { description: op.ok.description, content: { "application/json": { schema: op.ok.schema === undefined ? { type: "object" } : jsonSchemaOf(op.ok.schema) } } },
  };
  for (const status of [...op.errors, 401, 429].sort()) {
    responses[String(status)] = { description: ERROR_DESCRIPTIONS[status] ?? "Error", ...(status === 429 || status === 503 ? { headers: RETRY_AFTER } : {}), ...error };
  }
  const body = typeof op.body === "function" ? op.body(products) : op.body;
  const parameters = [
    ...names.map((name) => ({ name, in: "path", required: true, schema: jsonSchemaOf(PATH_PARAMS[name] ?? v.string()) })),
    ...Object.entries(op.query?.entries ?? {}).map(([name, schema]) => ({ name, in: "query", required: false, schema: jsonSchemaOf(schema) })),
  ];
  return {
    operationId: op.operationId,
    summary: op.summary,
    ...(parameters.length > 0 ? { parameters } : {}),
    ...(body !== undefined ? { requestBody: { required: op.bodyOptional !== true, content: { "application/json": { schema: closedJsonSchema(jsonSchemaOf(body) as Record<string, unknown>), ...(op.example !== undefined ? { example: op.example } : {}) } } } } : {}),
    responses,
  };
}

/** The document for the configured product names (they are the keys of a key's `access`). */
export function buildOpenApi(products: readonly string[]): Record<string, unknown> {
  const paths: Record<string, Record<string, unknown>> = {};
  for (const op of OPERATIONS) {
    const path = openApiPath(op.path);
    paths[path] = { ...paths[path], [op.method]: operationObject(op, products) };
  }
  return {
    openapi: "3.1.0",
    info: { title: "One Stack Edge Gateway admin API", version: "1", description: "Integration keys and rate-limit policies per tenant. Reference: docs/admin-api.md." },
    servers: [{ url: "/" }],
    security: [{ adminBearer: [] }, { cloudflareAccess: [] }],
    paths,
    components: {
      schemas: { Envelope: jsonSchemaOf(EnvelopeSchema) },
      securitySchemes: {
        adminBearer: { type: "http", scheme: "bearer", description: "ADMIN_SECRET (or ADMIN_SECRET_NEXT during a rotation)" },
        cloudflareAccess: { type: "apiKey", in: "header", name: "Cf-Access-Jwt-Assertion", description: "A Cloudflare Access application token (deployments)" },
      },
    },
  };
}
