/**
 * The admin API's value rules as JSON Schema patterns, for the OpenAPI document: the schemas check these
 * values in code (a window's seconds, a page size's range), which valibot's converter cannot see, so each
 * such schema describes itself with the pattern here (`v.metadata({ describe })`, src/admin/schemas.ts).
 * The conformance test (test/integration/admin-openapi.test.ts) sends values on both sides of each pattern
 * and fails when the API and the document disagree.
 */

/** Up to six digits, leading zeros allowed, as the window grammar (src/shared/policy.ts WINDOW_PATTERN) reads them. */
const SIX_DIGITS = "(?=\\d{1,6}[smhd]$)0*";

/** A rate-limit window: 1 s to 1 day (1-86400s, 1-1440m, 1-24h, 1d). */
export const WINDOW_JSON_PATTERN = `^${SIX_DIGITS}(?:(?:[1-9]\\d{0,3}|[1-7]\\d{4}|8[0-5]\\d{3}|86[0-3]\\d{2}|86400)s|(?:[1-9]\\d{0,2}|1[0-3]\\d{2}|14[0-3]\\d|1440)m|(?:[1-9]|1\\d|2[0-4])h|1d)$`;

/** A roll's grace period as a duration: 0 to 7 days (0-604800s, 0-10080m, 0-168h, 0-7d). */
export const GRACE_JSON_PATTERN = `^${SIX_DIGITS}(?:(?:\\d{1,5}|[1-5]\\d{5}|60[0-3]\\d{3}|604[0-7]\\d{2}|604800)s|(?:\\d{1,4}|100[0-7]\\d|10080)m|(?:\\d{1,2}|1[0-5]\\d|16[0-8])h|[0-7]d)$`;

/** A page size in a query string: 1 to 100, up to three digits. */
export const PAGE_SIZE_JSON_PATTERN = "^(?=\\d{1,3}$)0*(?:[1-9]\\d?|100)$";
