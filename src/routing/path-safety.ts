/**
 * Path safety, decided before anything else looks at the path. The runtime has already parsed the
 * request target as a WHATWG URL (dot segments resolved, `\` turned into `/`), and the gateway forwards
 * exactly that serialized path: what is authorized is byte-for-byte what the product receives. This check
 * refuses whatever could still be read two ways by a backend: encoded separators and dots, double
 * encoding, empty segments, control characters. Pure, so every rule is unit-tested.
 */
import { validationError } from "../errors";

export const MAX_PATH_LENGTH = 2048;

// %2F (/), %5C (\), %2E (.) and %00 mean a backend decoding once sees a different path than the one
// authorized; %25 followed by hex is double encoding, which a backend decoding twice turns into the same.
const AMBIGUOUS_ENCODING = /%(?:2f|5c|2e|00|25[0-9a-f]{2})/i;
// Raw control characters, DEL, backslash and characters a URL serializer would have encoded: seeing one
// means the target did not come through a normal parser.
// eslint-disable-next-line no-control-regex
const FORBIDDEN_RAW = /[\x00-\x20\x7f\\"<>`{}|^]/;
// Percent-encoded control characters (%00-%1F, %7F).
const ENCODED_CONTROL = /%(?:[01][0-9a-f]|7f)/i;

/**
 * Returns nothing for a safe path; throws VALIDATION_ERROR with `details.fields.path` saying why otherwise.
 * `path` is the URL's serialized pathname.
 */
export function assertSafePath(path: string): void {
  const refuse = (why: string) => validationError({ path: why }, `unsafe path: ${why}`);
  if (!path.startsWith("/")) throw refuse("Path must start with /");
  if (path.length > MAX_PATH_LENGTH) throw refuse(`Path must be at most ${MAX_PATH_LENGTH} characters`);
  if (FORBIDDEN_RAW.test(path)) throw refuse("Path contains a forbidden character");
  if (ENCODED_CONTROL.test(path)) throw refuse("Path contains an encoded control character");
  if (AMBIGUOUS_ENCODING.test(path)) throw refuse("Path contains an encoded separator, dot or percent sign");
  if (path.includes("//")) throw refuse("Path contains an empty segment");
  for (const segment of path.split("/")) {
    if (segment === "." || segment === "..") throw refuse("Path contains a dot segment");
  }
}
