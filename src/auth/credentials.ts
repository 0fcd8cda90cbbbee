/**
 * Finds the one credential a request carries. More than one (a key and a bearer token, two keys, two
 * Authorization headers, a token and a session cookie) is refused: the gateway never picks "the best
 * one". Credentials in the query string are never accepted, and a request that tries is refused so the
 * secret does not travel on to logs and backends in a URL.
 */
import { GatewayError } from "../errors";
import { bearerToken } from "../http/bearer";
import { findSessionCookie } from "../http/cookies";
import { requestHeader } from "../http/header-names";
import { frameworkName } from "../http/param-names";

export type Credential = { kind: "key"; key: string } | { kind: "token"; token: string } | { kind: "none" };

/**
 * Query parameter names that carry a credential, as `frameworkName` reads them. `key` and `token` are
 * included although products might use them for something else: a secret in a URL ends up in logs and
 * browser histories, and no One Stack route takes either (`page_token`, `sort_key` are different names).
 */
const QUERY_CREDENTIALS = new Set(["access_token", "api_key", "apikey", "integration_key", "x_integration_key", "id_token", "auth_token", "jwt", "key", "token"]);

function ambiguous(reason: string): GatewayError {
  return new GatewayError("UNAUTHORIZED", {
    message: "Send exactly one credential",
    details: { reason: "multiple_credentials" },
    logReason: `ambiguous credentials: ${reason}`,
  });
}

/**
 * The request's credential. Headers sent twice reach the Worker joined with ", ", and neither keys nor
 * JWTs contain a comma, so a comma means a repeated header. `query` is null for a URL without one
 * (src/http/query.ts).
 */
export function extractCredential(headers: Headers, query: URLSearchParams | null, sessionCookie: string): Credential {
  // Names as frameworks read them (`?API_KEY=`, `?access.token=`, `?access_token[]=`); the session cookie's name counts too.
  const session = frameworkName(sessionCookie);
  for (const name of query === null ? [] : new Set(query.keys())) {
    const readAs = frameworkName(name);
    if (QUERY_CREDENTIALS.has(readAs) || readAs === session) {
      const parameter = name.slice(0, 100);
      throw new GatewayError("UNAUTHORIZED", {
        message: "Credentials are not accepted in the query string",
        details: { reason: "credential_in_query", parameter },
        logReason: `credential in query parameter ${parameter}`,
      });
    }
  }
  const found: Credential[] = [];
  const key = requestHeader(headers, "x-integration-key");
  if (key !== null) {
    if (key.includes(",")) throw ambiguous("X-Integration-Key repeated");
    found.push({ kind: "key", key: key.trim() });
  }
  const authorization = requestHeader(headers, "authorization");
  if (authorization !== null) {
    if (authorization.includes(",")) throw ambiguous("Authorization repeated");
    const token = bearerToken(authorization);
    if (token === null) throw new GatewayError("UNAUTHORIZED", { logReason: "Authorization is not a Bearer token" });
    found.push({ kind: "token", token });
  }
  const cookies = findSessionCookie(requestHeader(headers, "cookie"), sessionCookie);
  if (cookies.values.length > 1 || cookies.smuggled) throw ambiguous("session cookie repeated");
  if (cookies.values[0] !== undefined) found.push({ kind: "token", token: cookies.values[0] });
  if (found.length > 1) throw ambiguous(found.map((f) => f.kind).join("+"));
  return found[0] ?? { kind: "none" };
}
