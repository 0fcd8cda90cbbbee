/**
 * Header hygiene at both boundaries. Pure functions over Headers.
 *
 * Upstream, a product receives the client's end-to-end headers minus what the gateway owns or cannot
 * vouch for, plus what the gateway sets:
 * - hop-by-hop headers (RFC 9110 §7.6.1) and any the Connection header names are connection-specific;
 * - a name outside letters, digits and `-` is dropped, as nginx does by default (`ignore_invalid_headers`,
 *   `underscores_in_headers off`): CGI, WSGI and Rack servers read `_` as `-`, so `X-OneStack_Tenant-Id`
 *   or `Content_Length` would alias a header the gateway controls;
 * - credentials and the reserved identity namespace are removed, so a product can trust `X-OneStack-*` as
 *   set by the gateway alone, and so are the identity headers other authenticating proxies set;
 * - `Host` and every forwarding, rewrite, client-address and client-certificate header the client wrote are
 *   removed; the gateway sets `X-Forwarded-For` and `X-Forwarded-Proto` from what the edge knows (Envoy's
 *   `use_remote_address`), never from what the client wrote.
 */
import { withoutCookie } from "../http/cookies";
import { isIdentityNamespace, requestHeader, requestHeaderNames } from "../http/header-names";
import { METHOD_OVERRIDE_HEADERS } from "../routing/method-override";
import { memoizedByName } from "../shared/bounded-map";

const HOP_BY_HOP = new Set(["connection", "keep-alive", "proxy-connection", "proxy-authenticate", "proxy-authorization", "te", "trailer", "transfer-encoding", "upgrade"]);

/** Names a server reads the same way whatever its conventions; Headers hands names over lowercased. */
const PLAIN_NAME = /^[a-z0-9-]+$/;

/**
 * Client-sent headers that claim where the request came from or which URL, host or protocol it had, read
 * by frameworks and proxies behind the gateway (Rack, Django, Spring, IIS URL Rewrite and ARR, Symfony,
 * Zend, nginx ingress, Envoy). The host overrides among them (`X-Forwarded-Host`, `X-Host`,
 * `X-Forwarded-Server`, `X-HTTP-Host-Override`, `X-Original-Host`, `Forwarded: host=`) are what
 * password-reset and redirect links are built from in products that trust them.
 */
const FORWARDING = [
  "forwarded", "x-real-ip", "x-client-ip", "true-client-ip", "x-cluster-client-ip", "client-ip", "fastly-client-ip", "x-originating-ip",
  "x-remote-ip", "x-remote-addr", "x-host", "x-http-host-override", "x-rewrite-url", "front-end-https", "x-url-scheme", "x-scheme",
];

/**
 * Prefixes of the same: every `X-Forwarded*` (host, server, prefix, port, scheme, and Envoy's client
 * certificate `X-Forwarded-Client-Cert`, Traefik's `X-Forwarded-Tls-Client-Cert*`), `X-Original-*` (URL, URI,
 * host, and what ASP.NET's ForwardedHeaders keeps: for, proto), IIS ARR's `X-ARR-*` (SSL, client
 * certificate), Cloudflare's per-connection `CF-*` and Envoy's internal `X-Envoy-*`.
 */
const FORWARDING_PREFIXES = ["x-forwarded", "x-original-", "x-arr-", "cf-", "x-envoy-"];

/**
 * Client-certificate headers: what a TLS-terminating proxy in front of a product says about the certificate
 * the client presented, and products that authenticate by it read. The gateway terminates TLS and asks for
 * no client certificate, so any such header came from the client: nginx and HAProxy conventions
 * (`X-SSL-Client-*`, `X-SSL-Cert`, `X-Client-Verify`), Apache's `SSL-Client-*`, GCP's `X-Client-Cert*`, AWS
 * ALB's `X-Amzn-Mtls-*` and RFC 9440's `Client-Cert` and `Client-Cert-Chain`.
 */
const CLIENT_CERT = ["x-client-verify", "x-ssl-cert"];
const CLIENT_CERT_PREFIXES = ["x-client-cert", "x-ssl-client-", "ssl-client-", "x-amzn-mtls-", "client-cert"];

/**
 * Identity headers of other authenticating proxies, which products built behind one trust as the caller:
 * `Remote-User` (Apache, nginx), Kubernetes' `X-Remote-User`/`-Group`/`-Extra-*`, oauth2-proxy's
 * `X-Auth-Request-*`, Kong's `X-Authenticated-*` and `X-Consumer-*`, Grafana's `X-WEBAUTH-*`, Google IAP's
 * `X-Goog-Authenticated-User-*` and `X-Goog-IAP-*`, Azure App Service's `X-MS-CLIENT-PRINCIPAL*` and
 * `X-MS-TOKEN-*`, AWS ALB's `X-Amzn-Oidc-*`, Pomerium's `X-Pomerium-*` (oauth2-proxy's `X-Forwarded-User`
 * and `-Email`, and Access's `Cf-Access-*`, go with the forwarding prefixes). The gateway says who the
 * caller is in `X-OneStack-*` alone.
 */
const IDENTITY_CLAIMS = ["remote-user", "x-remote-user", "x-remote-group"];
const IDENTITY_CLAIM_PREFIXES = ["x-remote-extra-", "x-auth-request-", "x-authenticated-", "x-consumer-", "x-webauth-", "x-goog-authenticated-user-", "x-goog-iap-", "x-ms-client-principal", "x-ms-token-", "x-amzn-oidc-", "x-pomerium-"];

const NEVER_FORWARDED = new Set(["host", "x-integration-key", "authorization", "content-length", ...FORWARDING, ...CLIENT_CERT, ...IDENTITY_CLAIMS, ...METHOD_OVERRIDE_HEADERS]);
const NEVER_FORWARDED_PREFIXES = [...FORWARDING_PREFIXES, ...CLIENT_CERT_PREFIXES, ...IDENTITY_CLAIM_PREFIXES];

const NONE: ReadonlySet<string> = new Set();

/** The header names listed in `Connection`, lowercased. */
function connectionNamed(headers: Headers): ReadonlySet<string> {
  const value = headers.get("connection");
  return value === null ? NONE : new Set(value.split(",").map((h) => h.trim().toLowerCase()));
}

/**
 * Removes from `headers`, in place, the hop-by-hop headers, those named in `Connection`, and those `drop`
 * rejects; `names` are its names, read once by the caller (each read crosses into the runtime). Returns
 * `headers`. Always on a copy the gateway owns: a native copy and the few removals cost less than an append
 * per kept header.
 */
export function keepEndToEnd(headers: Headers, names: readonly string[], drop: (name: string) => boolean): Headers {
  const named = names.includes("connection") ? connectionNamed(headers) : NONE;
  for (const name of names) {
    if (HOP_BY_HOP.has(name) || named.has(name) || drop(name)) headers.delete(name);
  }
  return headers;
}

/** True for a request header the gateway never passes on from the client. */
const neverForwarded = memoizedByName(
  (name) => !PLAIN_NAME.test(name) || NEVER_FORWARDED.has(name) || isIdentityNamespace(name) || NEVER_FORWARDED_PREFIXES.some((p) => name.startsWith(p)),
);

/**
 * The client address Cloudflare's edge put in `CF-Connecting-IP` (it overwrites any the client sent), when
 * it is one IPv4 or IPv6 address; under local development nothing sets it and there is no address to pass.
 */
function clientAddress(incoming: Headers): string | null {
  const value = requestHeader(incoming, "cf-connecting-ip")?.trim() ?? "";
  return /^[0-9a-f.:]{3,45}$/i.test(value) && /[.:]/.test(value) ? value : null;
}

export interface UpstreamHeaderOptions {
  requestId: string;
  /** Identity headers to set, e.g. `{ "X-OneStack-Tenant-Id": "t_1" }`; every client-sent `X-OneStack-*` is removed first. */
  identity: Record<string, string>;
  /** Name of the session cookie, removed from `Cookie`. */
  sessionCookie?: string | undefined;
  /** The request URL as the Worker received it: its protocol becomes `X-Forwarded-Proto`. */
  url: URL;
}

/** The headers a product backend receives: the client's, minus what the gateway strips, plus what it sets. */
export function upstreamRequestHeaders(incoming: Headers, opts: UpstreamHeaderOptions): Headers {
  const headers = keepEndToEnd(new Headers(incoming), requestHeaderNames(incoming), neverForwarded);
  // Read from the copy (a Connection header may have named it), and only when the client sent one.
  const cookie = requestHeaderNames(incoming).includes("cookie") ? headers.get("cookie") : null;
  if (cookie !== null && opts.sessionCookie !== undefined) {
    const rest = withoutCookie(cookie, opts.sessionCookie);
    if (rest === "") headers.delete("cookie");
    else headers.set("cookie", rest);
  }
  for (const [name, value] of Object.entries(opts.identity)) headers.set(name, value);
  const address = clientAddress(incoming);
  if (address !== null) headers.set("x-forwarded-for", address);
  headers.set("x-forwarded-proto", opts.url.protocol.slice(0, -1));
  headers.set("x-request-id", opts.requestId);
  return headers;
}

