// DEV ONLY — never deployed. Optimistic locking as the contract describes it (errors.md, 409 Conflict):
// each record carries `_etag` ("v1", "v2", ...); a write that names a different version is refused.

import { EnvelopeError, validationError } from "./http-util.mjs";

/** "v3" -> "v4". */
export function nextVersion(etag) {
  return `v${Number(etag.slice(1)) + 1}`;
}

/** `If-Match: "v2"`, `W/"v2"` and bare `v2` all name version v2 (RFC 9110 §13.1.1 quotes entity tags). */
function parseIfMatch(header) {
  if (header === undefined) return null;
  return header.trim().replace(/^W\//, "").replace(/^"(.*)"$/, "$1");
}

/**
 * Throws 409 CONFLICT with `{ currentVersion, submittedVersion }` when the body's `_etag` or the
 * `If-Match` header names a version other than the record's current one. Neither present: last write wins,
 * as in a product that only offers locking to clients that opt in. `If-Match: *` matches any version.
 */
export function assertVersion(req, body, record, label) {
  if (body && "_etag" in body && typeof body._etag !== "string") {
    throw validationError({ _etag: "Must be a string" });
  }
  for (const submitted of [body?._etag, parseIfMatch(req.headers["if-match"])]) {
    if (submitted === undefined || submitted === null || submitted === "*") continue;
    if (submitted !== record._etag) {
      throw new EnvelopeError(409, "CONFLICT", `${label} has been modified by another user`, {
        currentVersion: record._etag,
        submittedVersion: submitted,
      });
    }
  }
}
