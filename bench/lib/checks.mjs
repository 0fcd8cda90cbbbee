/**
 * What every gateway response must look like, whatever went wrong behind it (docs/errors.md): a non-2xx
 * body is the One Stack envelope with a JSON content type, every response carries X-Request-Id, and no body
 * carries the upstream's own text. Pure functions, shared by the accuracy and fault runs.
 */

/** The bench upstream's answer to every request it serves normally: a 2xx with another body was altered. */
export const UPSTREAM_OK_BODY = '{"ok":true}';

// Marker texts the bench upstream puts in its broken answers (lib/upstream.mjs): a server banner, an
// internal hostname, a stack frame. Any of them in a response body means upstream text leaked through.
export const LEAK_TEXT = { banner: "nginx/1.25.3", host: "db-7.internal.upstream.example", stack: "at handler (/srv/upstream/app.js:12:7)" };
const LEAK = /nginx|internal\.upstream\.example|\/srv\/upstream|\bat \S+ \(\S+:\d+:\d+\)/i;

/** True when `body` contains upstream text: the markers above, or anything shaped like them. */
export function leaksUpstream(body) {
  return typeof body === "string" && LEAK.test(body);
}

/** The envelope check: JSON content type, `error` string, `CODE`-shaped `code`, `details` object or null. */
export function envelopeCode(contentType, body) {
  if (!/^application\/json\b/i.test(contentType ?? "")) return null;
  let v;
  try {
    v = JSON.parse(body);
  } catch {
    return null;
  }
  const ok =
    v !== null && typeof v === "object" && typeof v.error === "string" && typeof v.code === "string" && /^[A-Z][A-Z0-9_]*$/.test(v.code) &&
    Object.hasOwn(v, "details") && (v.details === null || (typeof v.details === "object" && !Array.isArray(v.details)));
  return ok ? v.code : null;
}
