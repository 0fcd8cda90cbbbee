/**
 * Reading and validating admin API input; every problem answers VALIDATION_ERROR with `details.fields`.
 * The rules are the schemas in src/admin/schemas.ts (also the OpenAPI document's); this file reads the
 * request and applies them.
 */
import type { Context } from "hono";
import type { AccessLevel } from "../auth/principal";
import { isRecord } from "../shared/records";
import type { AppEnv } from "../env";
import { GatewayError, validationError } from "../errors";
import { isJsonMediaType, parseStrictJson } from "../http/json-body";
import { duplicateMember } from "../shared/json-members";
import { shownText } from "../shared/schema-issues";
import { parseWindow, type Policy } from "../shared/policy";
import { readClientChunk } from "../proxy/upload-stream";
import { KEY_ID_PATTERN, newKeyBody, PoliciesBody, RollBody, TenantIdSchema } from "./schemas";
import { parseInput } from "./validation-hook";

const MAX_ADMIN_BODY = 16 * 1024;

export function tenantParam(c: Context<AppEnv>): string {
  return parseInput(TenantIdSchema, c.req.param("tenantId") ?? "", "invalid tenant id", "tenantId");
}

export function keyIdParam(c: Context<AppEnv>): string {
  const id = c.req.param("keyId") ?? "";
  if (!KEY_ID_PATTERN.test(id)) throw new GatewayError("NOT_FOUND", { details: { resourceType: "integrationKey", resourceId: shownText(id) } });
  return id;
}

function tooLarge(maxBytes: number): GatewayError {
  return new GatewayError("PAYLOAD_TOO_LARGE", { details: { limit: maxBytes } });
}

/**
 * The body's bytes, refused with 413 as soon as they pass the cap: a declared `Content-Length` over it is
 * refused before reading, and a body without one is counted while it streams, never buffered whole. Every
 * wait for the client's next chunk is bounded by the upload idle timeout (400, as on the product paths).
 */
async function readCapped(request: Request, maxBytes: number, idleMs: number): Promise<Uint8Array> {
  const declared = request.headers.get("content-length");
  if (declared !== null && !(/^\d+$/.test(declared) && Number(declared) <= maxBytes)) throw tooLarge(maxBytes);
  const out = new Uint8Array(maxBytes);
  let length = 0;
  if (request.body === null) return out.subarray(0, 0);
  const reader = request.body.getReader();
  for (;;) {
    const { done, value } = await readClientChunk(reader, idleMs);
    if (done) return out.subarray(0, length);
    if (length + value.byteLength > maxBytes) {
      await reader.cancel();
      throw tooLarge(maxBytes);
    }
    out.set(value, length);
    length += value.byteLength;
  }
}

/** The JSON object body of an admin request, of at most `maxBytes` (16 KiB; a whole tenants file may be larger). */
export async function jsonBody(c: Context<AppEnv>, maxBytes = MAX_ADMIN_BODY): Promise<Record<string, unknown>> {
  if (!isJsonMediaType(c.req.header("content-type") ?? null)) throw validationError({ "Content-Type": "Must be application/json" });
  const bytes = await readCapped(c.req.raw, maxBytes, c.get("config").limits.uploadIdleMs);
  let value: unknown;
  try {
    value = parseStrictJson(bytes);
  } catch {
    throw new GatewayError("INVALID_JSON");
  }
  if (!isRecord(value)) throw validationError({ body: "Must be a JSON object" });
  // JSON.parse keeps the last of two members with one name; the operator meant one of them, and must say which.
  const duplicate = duplicateMember(new TextDecoder().decode(bytes));
  if (duplicate !== null) throw validationError({ [duplicate]: "Must appear once: this member is repeated" }, "admin body with a repeated member");
  return value;
}

// RFC 3339 §5.6 date-time: full date, full time with seconds, a time zone. Nothing Date.parse also takes
// ("2030", RFC 2822 dates, no zone = local time).
const RFC3339 = /^(\d{4})-(\d{2})-(\d{2})[Tt](\d{2}):(\d{2}):(\d{2})(?:\.\d{1,9})?(?:[Zz]|[+-](\d{2}):(\d{2}))$/;

/** Milliseconds since the epoch for an RFC 3339 date-time with a time zone; null for anything else. */
export function parseRfc3339(text: string): number | null {
  const m = RFC3339.exec(text);
  if (m === null) return null;
  const [year, month, day, hour, minute, second, offH, offM] = m.slice(1).map((v) => (v === undefined ? 0 : Number(v))) as number[];
  // Date.UTC rolls 2030-02-30 over to March: a field that does not survive the round trip did not exist.
  const date = new Date(Date.UTC(year!, month! - 1, day!, hour, minute, second));
  const exists = date.getUTCFullYear() === year && date.getUTCMonth() === month! - 1 && date.getUTCDate() === day && date.getUTCHours() === hour && date.getUTCMinutes() === minute && date.getUTCSeconds() === second;
  if (!exists || offH! > 23 || offM! > 59) return null;
  const t = Date.parse(text.toUpperCase());
  return Number.isNaN(t) ? null : t;
}

// Characters that make a name display as something else, or break a log line or a terminal: controls
// (C0, C1), format characters (bidi overrides and isolates U+202A-U+202E and U+2066-U+2069, zero-width
// U+200B-U+200F, U+FEFF, ...), lone surrogates, private use, unassigned code points and noncharacters
// (U+FFFE, U+FFFF, U+FDD0-U+FDEF), and line/paragraph separators.
const UNSAFE_TEXT = /[\p{Cc}\p{Cf}\p{Cs}\p{Co}\p{Cn}\p{Zl}\p{Zp}]/u;
// Characters that display as nothing or as a blank while not being a space: the default-ignorables
// (Hangul fillers U+115F, U+1160, U+3164, U+FFA0, the combining grapheme joiner U+034F, ...) and the braille
// blank U+2800; variation selectors (U+FE00-U+FE0F, U+E0100-U+E01EF) are default-ignorable too but only
// choose how the character before them looks (an emoji's colour form), so they are kept.
const BLANK_TEXT = /(?![\uFE00-\uFE0F\u{E0100}-\u{E01EF}])[\p{Default_Ignorable_Code_Point}\u2800]/u;
// A mark (accent, enclosing circle, variation selector) at the start has nothing to combine with: it
// stacks on whatever is printed before the name.
const LEADING_MARK = /^\p{M}/u;
// What remains of a name once the characters that show nothing of their own are gone: none means blank.
const INVISIBLE = /[\p{White_Space}\p{M}]/gu;

/**
 * True for a 1-`max` character string (code points), trimmed of spaces, that holds no character from
 * UNSAFE_TEXT or BLANK_TEXT, does not start with a mark, and shows at least one character of its own.
 */
export function isDisplaySafe(value: unknown, max: number): value is string {
  if (typeof value !== "string") return false;
  const text = value.trim();
  // The whole value is checked, not the trimmed one: trim() also drops U+FEFF.
  if (text === "" || UNSAFE_TEXT.test(value) || BLANK_TEXT.test(value) || LEADING_MARK.test(text) || text.replace(INVISIBLE, "") === "") return false;
  return [...value].length <= max;
}

export interface NewKeyInput {
  name: string;
  access: Record<string, AccessLevel>;
  expiresAt: string | null;
}

/** Validates a create-key body against the configured products. */
export function newKeyInput(body: Record<string, unknown>, products: readonly string[], nowMs = Date.now()): NewKeyInput {
  const schema = newKeyBody(products, nowMs, (name) => isDisplaySafe(name, 100), parseRfc3339);
  const input = parseInput(schema, body, "invalid create-key input");
  return { name: input.name, access: input.access as Record<string, AccessLevel>, expiresAt: input.expiresAt };
}

/**
 * Policies from `{ policies: [{ name, limit, window: "1m" }] }`, validated; `window` strings become
 * `windowSec`. Only `window` is accepted: a `windowSec` sent directly is refused as an unknown field.
 */
export function policiesInput(body: Record<string, unknown>): Policy[] {
  const { policies } = parseInput(PoliciesBody, body, "invalid rate-limit policies");
  return policies.map((p) => ({ name: p.name, limit: p.limit, windowSec: parseWindow(p.window) as number, ...(p.mode === "shadow" ? { mode: "shadow" as const } : {}) }));
}

/**
 * A tenant's override: as a key's, and at least one policy enforced. The override replaces the default, so
 * one of shadow policies only would leave the tenant with no limit at all; a key's own policies only add
 * to the tenant's, so a key may have shadow policies only.
 */
export function tenantPoliciesInput(body: Record<string, unknown>): Policy[] {
  const policies = policiesInput(body);
  if (policies.every((p) => p.mode === "shadow")) throw validationError({ policies: 'Must include at least one policy with mode "enforce": a tenant\'s override replaces the default limits' }, "tenant override with shadow policies only");
  return policies;
}

/** The longest grace period a roll may give the old key: 7 days. */
const MAX_GRACE_SEC = 7 * 86_400;

/**
 * Validates a roll body: `gracePeriod`, optional, either a duration in the rate-limit window grammar
 * (`30s`, `15m`, `1h`, `7d`) or whole seconds, from 0 (the old key stops now; the default) to 7 days.
 */
export function rollInput(body: Record<string, unknown>): { graceSec: number } {
  const { gracePeriod } = parseInput(RollBody, body, "invalid roll input");
  if (gracePeriod === undefined || gracePeriod === null) return { graceSec: 0 };
  const seconds = typeof gracePeriod === "string" ? parseWindow(gracePeriod) : gracePeriod;
  if (seconds === null || seconds > MAX_GRACE_SEC) {
    throw validationError({ gracePeriod: `Must be a duration such as "30s", "15m", "1h", "7d", or whole seconds, from 0 to ${MAX_GRACE_SEC} (7 days)` }, "invalid roll input");
  }
  return { graceSec: seconds };
}
