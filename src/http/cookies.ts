/**
 * The one reader of cookie grammar (RFC 6265 §4.2.1: `name=value` pairs separated by `;`), used to find the
 * session cookie (authentication, the cookie CSRF check), to remove it before forwarding, to keep a
 * product's Set-Cookie from touching it, and to scope a product's Set-Cookie to its path, so a cookie is
 * never read one way by a check and another way by the strip. Pure.
 *
 * Lenient readings count too: a repeated Cookie header reaches the Worker joined with ", " (RFC 9110 §5.3),
 * so a name after a comma inside a pair may be a cookie of its own; and a name that a framework reads as
 * the session cookie's (`OS_SESSION`, `os.session`, `os%5Fsession`, `os_session[]`) is one for it.
 */
import { frameworkName } from "./param-names";

/** The name of a `name=value` pair (the whole pair when it has no `=`), without surrounding spaces. */
function nameOf(pair: string): string {
  const eq = pair.indexOf("=");
  return (eq === -1 ? pair : pair.slice(0, eq)).trim();
}

/** The name as frameworks read it: PHP percent-decodes cookie names before its other rewriting. */
function readAs(name: string): string {
  try {
    return frameworkName(decodeURIComponent(name));
  } catch {
    return frameworkName(name);
  }
}

/**
 * How a pair carries the cookie `name` (`wanted` is `readAs(name)`): as itself, only in a lenient reading,
 * or not at all.
 */
function carries(pair: string, name: string, wanted: string): "exact" | "lenient" | null {
  const [head = "", ...tail] = pair.split(",");
  if (tail.some((part) => readAs(nameOf(part)) === wanted)) return "lenient";
  if (nameOf(pair) === name) return "exact";
  return readAs(nameOf(head)) === wanted ? "lenient" : null;
}

/**
 * Where the cookie `name` appears in a Cookie header. `values`: the value of each pair named exactly
 * `name` (a name sent twice yields two). `smuggled`: some pair carries it only in a lenient reading (behind
 * a comma, or under a look-alike name); such a pair can be neither trusted nor ignored.
 */
export function findSessionCookie(cookieHeader: string | null, name: string): { values: string[]; smuggled: boolean } {
  const values: string[] = [];
  let smuggled = false;
  const wanted = readAs(name);
  for (const pair of cookieHeader === null ? [] : cookieHeader.split(";")) {
    const how = carries(pair, name, wanted);
    if (how === "exact") values.push(pair.slice(pair.indexOf("=") + 1).trim());
    else if (how === "lenient") smuggled = true;
  }
  return { values, smuggled };
}

/**
 * The Cookie header without every pair that carries the cookie `name` in any reading; every other byte as
 * the client sent it (the header itself when nothing is removed). An empty string when nothing is left.
 */
export function withoutCookie(cookieHeader: string, name: string): string {
  const pairs = cookieHeader.split(";");
  const wanted = readAs(name);
  const kept = pairs.filter((pair) => carries(pair, name, wanted) === null);
  if (kept.length === pairs.length) return cookieHeader;
  // The space after a removed leading pair's `;` belonged to that separator.
  return kept.join(";").trimStart();
}

/**
 * True when a Set-Cookie line would set (or clear) the cookie `name`: its first pair is named so. A line
 * without `=` sets a cookie with an empty name whose value browsers send back bare (RFC 6265bis §5.6), so
 * it counts as well.
 */
export function setCookieTouches(line: string, name: string): boolean {
  const pair = line.split(";", 1)[0] ?? "";
  return !pair.includes("=") || nameOf(pair) === name;
}

/** True for a `__Host-` cookie (any case): browsers accept one only with `Path=/` and no Domain, so it is origin-wide by definition. */
export function isHostPrefixed(line: string): boolean {
  return nameOf(line.split(";", 1)[0] ?? "").toLowerCase().startsWith("__host-");
}

/**
 * A Set-Cookie line with every Domain and Path attribute removed and `Path=<pathFor(path)>` appended, where
 * `path` is the line's last Path value (RFC 6265 §5.3: the last one counts; null when there is none). Without
 * Domain the cookie is host-only. The name, value and other attributes are kept as sent.
 */
export function withCookiePath(line: string, pathFor: (path: string | null) => string): string {
  const [pair = "", ...attributes] = line.split(";");
  let path: string | null = null;
  const kept: string[] = [];
  for (const attribute of attributes) {
    const name = nameOf(attribute).toLowerCase();
    if (name === "path") path = attribute.includes("=") ? attribute.slice(attribute.indexOf("=") + 1).trim() : "";
    else if (name !== "domain" && attribute.trim() !== "") kept.push(attribute.trim());
  }
  return [pair.trim(), ...kept, `Path=${pathFor(path)}`].join("; ");
}
