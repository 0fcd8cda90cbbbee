/**
 * The gateway's JSON check, strict enough that any parser a product may use reads the same document
 * (RFC 8259): UTF-8 only (§8.1), no byte order mark (§8.1: a sender MUST NOT add one; Node's and many
 * other parsers reject it), and no lone surrogate escapes (§8.2: behaviour is unpredictable; some
 * parsers replace them with U+FFFD, others refuse). Duplicate member names are left to the product: the
 * gateway never reads a body's members, so it cannot be made to see a different document.
 */
import { GatewayError, validationError } from "../errors";

const BOM = [0xef, 0xbb, 0xbf];
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

/** `application/json` or any `application/*+json` (RFC 6839), parameters ignored. */
export function isJsonMediaType(contentType: string | null): boolean {
  if (contentType === null) return false;
  const media = contentType.split(";", 1)[0]?.trim().toLowerCase() ?? "";
  return media === "application/json" || (media.startsWith("application/") && media.endsWith("+json"));
}

/**
 * Refuses a `charset` parameter other than UTF-8 on a JSON body: a product that honours it would decode
 * other characters than the gateway checked. Parameter grammar per RFC 9110 §5.6.6 (token or quoted value).
 */
export function assertUtf8Charset(contentType: string): void {
  for (const param of contentType.split(";").slice(1)) {
    const eq = param.indexOf("=");
    if (eq === -1 || param.slice(0, eq).trim().toLowerCase() !== "charset") continue;
    const value = param.slice(eq + 1).trim().replace(/^"(.*)"$/, "$1").toLowerCase();
    if (value !== "utf-8" && value !== "utf8") {
      throw validationError({ "Content-Type": "JSON bodies must be UTF-8 (charset=utf-8 or none)" }, `JSON body declared as charset ${value.slice(0, 40)}`);
    }
  }
}

function invalidJson(reason: string): GatewayError {
  return new GatewayError("INVALID_JSON", { details: null, logReason: reason });
}

/** True when any string in the document (member names included) holds an unpaired surrogate. */
function hasLoneSurrogate(text: string): boolean {
  // Only an escape can produce one (the text itself was decoded from valid UTF-8), so skip the walk without.
  if (!/\\u[dD][89a-fA-F]/.test(text)) return false;
  let found = false;
  JSON.parse(text, (key, value: unknown) => {
    if (LONE_SURROGATE.test(key) || (typeof value === "string" && LONE_SURROGATE.test(value))) found = true;
    return value;
  });
  return found;
}

/** UTF-8 only (fatal on any invalid sequence); a byte order mark is kept as U+FEFF, so JSON.parse refuses it. */
function decodeUtf8(bytes: Uint8Array): string {
  return new TextDecoder("utf-8", { fatal: true, ignoreBOM: true }).decode(bytes);
}

/**
 * The one strict JSON read of bytes: UTF-8 only and no byte order mark (RFC 8259 §8.1). Throws on anything
 * else. Used for client bodies (the proxy's check, the admin API) and product error bodies alike.
 */
export function parseStrictJson(bytes: Uint8Array): unknown {
  return JSON.parse(decodeUtf8(bytes));
}

/** Throws INVALID_JSON unless `bytes` is one JSON text as every conforming parser reads it. */
export function assertJson(bytes: Uint8Array): void {
  if (BOM.every((b, i) => bytes[i] === b)) throw invalidJson("JSON body starts with a UTF-8 byte order mark");
  let text: string;
  try {
    text = decodeUtf8(bytes);
    JSON.parse(text);
  } catch {
    throw invalidJson("request body failed JSON.parse or UTF-8 decoding");
  }
  if (hasLoneSurrogate(text)) throw invalidJson("JSON body holds a lone surrogate escape");
}
