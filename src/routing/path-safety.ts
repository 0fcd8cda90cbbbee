/**
 * Path safety, decided before anything else looks at the path. The runtime has already parsed the
 * request target as a WHATWG URL (dot segments resolved, `\` turned into `/`, non-ASCII percent-encoded),
 * and the gateway forwards exactly that serialized path: what is authorized is byte-for-byte what the
 * product receives. This check refuses whatever could still be read two ways by a backend: encoded
 * separators, dots and delimiters, double, malformed (`%u002e`) or overlong UTF-8 encoding, compatibility
 * characters that normalize to a separator, segments that are dots once a server strips a path parameter
 * (`..;x`, Tomcat) or trailing dots and spaces (Windows), empty segments, control characters. Whether a raw
 * `;` may appear at all is the matched route's decision (`assertMatrixParamsAllowed`). Pure, so every rule
 * is unit-tested.
 */
import { validationError, type GatewayError } from "../errors";

export const MAX_PATH_LENGTH = 2048;

// %2F (/), %5C (\), %2E (.) and %00 mean a backend decoding once sees a different path than the one
// authorized; %3B (;), %23 (#) and %3F (?) are delimiters to a backend that decodes before splitting;
// %25 followed by hex is double encoding, which a backend decoding twice turns into any of these.
const AMBIGUOUS_ENCODING = /%(?:2f|5c|2e|00|3b|23|3f|25[0-9a-f]{2})/i;
// A `%` not followed by two hex digits: IIS reads `%u002e` as `.`, other servers guess.
const MALFORMED_PERCENT = /%(?![0-9a-f]{2})/i;
// Anything outside printable ASCII, plus backslash and characters a URL serializer would have encoded:
// seeing one means the target did not come through a normal parser.
const FORBIDDEN_RAW = /[^\x21-\x7e]|[\\"<>`{}|^]/;
// Percent-encoded control characters (%00-%1F, %7F).
const ENCODED_CONTROL = /%(?:[01][0-9a-f]|7f)/i;
// Decoded controls (C1 included: %C2%85 is NEL).
const DECODED_CONTROL = /\p{Cc}/u;
// What NFKC must not introduce: a fullwidth `．` or `／` is `.` or `/` to a server that normalizes.
const DELIMITERS = /[./\\;:%?#]/g;
// A segment of dots and spaces only: `..` to a server that strips trailing dots and spaces (Windows),
// or that treats `...` as a parent of a parent.
const DOTS_ONLY = /^[. ]+$/;

// The common case, safe by construction: single slashes between segments of unreserved characters only
// (letters, digits, `-`, `_`, `~`; no `%`, no dot, nothing NFKC changes). Every rule below passes such a
// path, so it skips them (bench: the per-segment decoding and normalization were most of route resolution).
const PLAIN = /^(?:\/[A-Za-z0-9_~-]+)*\/?$/; // each repetition starts at a `/`: no two ways to match, linear time

function refuse(why: string): GatewayError {
  return validationError({ path: why }, `unsafe path: ${why}`);
}

/** The reason a segment is unsafe, or null. `segment` is raw (still percent-encoded), never empty. */
function segmentProblem(segment: string): string | null {
  let decoded: string;
  try {
    decoded = decodeURIComponent(segment);
  } catch {
    return "Path contains an invalid percent-encoded UTF-8 sequence";
  }
  if (DECODED_CONTROL.test(decoded)) return "Path contains an encoded control character";
  // Tomcat and Spring strip `;params` from a segment before they resolve dot segments.
  const head = decoded.split(";", 1)[0] ?? "";
  if (head === "") return "Path contains an empty segment";
  if (DOTS_ONLY.test(head)) return "Path contains a dot segment";
  const normalized = decoded.normalize("NFKC");
  if (normalized !== decoded && (normalized.match(DELIMITERS) ?? []).length !== (decoded.match(DELIMITERS) ?? []).length) {
    return "Path contains a character that normalizes to a separator";
  }
  return null;
}

/**
 * Returns nothing for a safe path; throws VALIDATION_ERROR with `details.fields.path` saying why otherwise.
 * `path` is the URL's serialized pathname.
 */
export function assertSafePath(path: string): void {
  if (!path.startsWith("/")) throw refuse("Path must start with /");
  if (path.length > MAX_PATH_LENGTH) throw refuse(`Path must be at most ${MAX_PATH_LENGTH} characters`);
  if (PLAIN.test(path)) return;
  if (FORBIDDEN_RAW.test(path)) throw refuse("Path contains a forbidden character");
  if (MALFORMED_PERCENT.test(path)) throw refuse("Path contains a malformed percent-encoding");
  if (ENCODED_CONTROL.test(path)) throw refuse("Path contains an encoded control character");
  if (AMBIGUOUS_ENCODING.test(path)) throw refuse("Path contains an encoded separator, delimiter, dot or percent sign");
  if (path.includes("//")) throw refuse("Path contains an empty segment");
  // The leading "" and a trailing "" (`/tickets/`, which no route matches) are not segments to check.
  for (const segment of path.split("/")) {
    const problem = segment === "" ? null : segmentProblem(segment);
    if (problem !== null) throw refuse(problem);
  }
}

/**
 * Refuses a `;` in any segment unless the route opted in with `allowMatrixParams`: a Tomcat/Spring
 * product reads `/a;x/b` as `/a/b`, so the path it serves would not be the one the route table matched.
 */
export function assertMatrixParamsAllowed(allowMatrixParams: boolean, segments: readonly string[]): void {
  if (!allowMatrixParams && segments.some((s) => s.includes(";"))) {
    throw refuse("Path parameters (;) are not allowed on this route");
  }
}
