/**
 * X-Request-Id: a caller's id is kept only when it is plainly safe to echo into headers and logs
 * (bounded length, a conservative character set: no CR/LF, quotes, spaces or markup); anything else is
 * replaced by a fresh UUID, so the id can neither split a header nor forge a log line.
 */

export const REQUEST_ID_HEADER = "X-Request-Id";
const SAFE_REQUEST_ID = /^[A-Za-z0-9][A-Za-z0-9._:-]{7,127}$/;

/** The incoming id if it is safe, otherwise a new random one. */
export function resolveRequestId(incoming: string | null | undefined): string {
  return incoming !== null && incoming !== undefined && SAFE_REQUEST_ID.test(incoming) ? incoming : crypto.randomUUID();
}
