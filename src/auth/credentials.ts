/**
 * Finds the one credential a request carries. More than one (a key and a bearer token, two keys, two
 * Authorization headers, a token and a session cookie) is refused: the gateway never picks "the best
 * one". Credentials in the query string are never accepted, and a request that tries is refused so the
 * secret does not travel on to logs and backends in a URL.
 */
import { GatewayError } from "../errors";

export type Credential = { kind: "key"; key: string } | { kind: "token"; token: string } | { kind: "none" };

/** Query parameters that only ever mean "here is my secret". */
const QUERY_CREDENTIALS = ["access_token", "api_key", "apikey", "integration_key", "x-integration-key", "id_token", "jwt"];

function ambiguous(reason: string): GatewayError {
  return new GatewayError("UNAUTHORIZED", {
    message: "Send exactly one credential",
    details: { reason: "multiple_credentials" },
    logReason: `ambiguous credentials: ${reason}`,
  });
}

/**
 * Where a cookie appears in a Cookie header. `values`: each `name=value` pair between `;` (a name sent
 * twice yields two values). `smuggled`: the name also appears after a comma inside a pair, which is what a
 * repeated Cookie header looks like once the runtime joins it with ", " (RFC 9110 §5.3). Nothing downstream
 * reads such a pair as that cookie, so it could neither be checked here nor removed before forwarding.
 */
export function findCookie(cookieHeader: string | null, name: string): { values: string[]; smuggled: boolean } {
  const pairs = cookieHeader === null ? [] : cookieHeader.split(";").map((c) => c.trim());
  const nameOf = (pair: string) => pair.split("=", 1)[0]?.trim();
  return {
    values: pairs.filter((c) => nameOf(c) === name).map((c) => c.slice(c.indexOf("=") + 1).trim()),
    smuggled: pairs.some((c) => c.split(",").slice(1).some((part) => nameOf(part) === name)),
  };
}

/**
 * The request's credential. Headers sent twice reach the Worker joined with ", ", and neither keys nor
 * JWTs contain a comma, so a comma means a repeated header.
 */
export function extractCredential(headers: Headers, query: URLSearchParams, sessionCookie: string): Credential {
  // Case-insensitively: some frameworks bind `?API_KEY=` to `api_key`. The session cookie's name counts too.
  const credentialNames = [...QUERY_CREDENTIALS, sessionCookie.toLowerCase()];
  for (const name of new Set([...query.keys()].map((k) => k.toLowerCase()))) {
    if (credentialNames.includes(name)) {
      throw new GatewayError("UNAUTHORIZED", {
        message: "Credentials are not accepted in the query string",
        details: { reason: "credential_in_query", parameter: name },
        logReason: `credential in query parameter ${name}`,
      });
    }
  }
  const found: Credential[] = [];
  const key = headers.get("x-integration-key");
  if (key !== null) {
    if (key.includes(",")) throw ambiguous("X-Integration-Key repeated");
    found.push({ kind: "key", key: key.trim() });
  }
  const authorization = headers.get("authorization");
  if (authorization !== null) {
    if (authorization.includes(",")) throw ambiguous("Authorization repeated");
    const match = /^Bearer +([^\s]+) *$/i.exec(authorization);
    if (match === null) throw new GatewayError("UNAUTHORIZED", { logReason: "Authorization is not a Bearer token" });
    found.push({ kind: "token", token: match[1] ?? "" });
  }
  const cookies = findCookie(headers.get("cookie"), sessionCookie);
  if (cookies.values.length > 1 || cookies.smuggled) throw ambiguous("session cookie repeated");
  if (cookies.values[0] !== undefined) found.push({ kind: "token", token: cookies.values[0] });
  if (found.length > 1) throw ambiguous(found.map((f) => f.kind).join("+"));
  return found[0] ?? { kind: "none" };
}
