/**
 * `Retry-After` (RFC 9110 §10.2.3) is delta-seconds or an HTTP-date; the contract promises clients whole
 * seconds. Pure: the clock is passed in.
 */

/** Clamp: never tell a client to retry at once, nor to wait longer than a day for a product. */
const MIN_SECONDS = 1;
const MAX_SECONDS = 86_400;

// IMF-fixdate and the two obsolete forms a recipient must accept (RFC 9110 §5.6.7).
const HTTP_DATE =
  /^(?:(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun), \d{2} [A-Z][a-z]{2} \d{4} \d{2}:\d{2}:\d{2} GMT|[A-Z][a-z]+, \d{2}-[A-Z][a-z]{2}-\d{2} \d{2}:\d{2}:\d{2} GMT|[A-Z][a-z]{2} [A-Z][a-z]{2} [ \d]\d \d{2}:\d{2}:\d{2} \d{4})$/;

/**
 * Whole seconds to wait from `nowMs`, or undefined when the value is absent or unreadable. An HTTP-date is
 * rounded up (a client told to wait must never come back early); both forms are clamped to 1 s .. 1 day.
 */
export function retryAfterSeconds(raw: string | null, nowMs: number): number | undefined {
  if (raw === null) return undefined;
  const value = raw.trim();
  let seconds: number;
  if (/^\d{1,9}$/.test(value)) {
    seconds = Number(value);
  } else if (HTTP_DATE.test(value)) {
    // asctime has no zone: it is GMT by definition, so Date.parse must not read it as local time.
    const at = Date.parse(/GMT$/.test(value) ? value : `${value} GMT`);
    if (Number.isNaN(at)) return undefined;
    seconds = Math.ceil((at - nowMs) / 1000);
  } else {
    return undefined;
  }
  return Math.min(MAX_SECONDS, Math.max(MIN_SECONDS, seconds));
}
