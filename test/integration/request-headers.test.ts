/**
 * What a product receives of the client's request headers: names only in the form every server reads the
 * same way, no forwarding or rewrite header the client wrote, the forwarding headers the gateway sets from
 * what the edge knows, and the client's cookies byte for byte without the session cookie.
 */
import { exports } from "cloudflare:workers";
import { beforeAll, describe, expect, it } from "vitest";
import { call, createKey, envelope, recorded, rid, sessionToken, tenant } from "../support/gateway";

let key = "";
let keyTenant = "";
beforeAll(async () => {
  keyTenant = tenant("hdr");
  ({ key } = await createKey(keyTenant, { psa: "read" }));
});

/** Sends a GET with the key and `headers` (pairs, so names keep their spelling); returns what PSA received. */
async function forwarded(headers: Array<[string, string]>, origin = "https://gateway.test") {
  const id = rid("hdr");
  const all = new Headers(headers);
  all.set("x-request-id", id);
  if (!all.has("cookie") || !all.get("cookie")?.includes("os_session=")) all.set("x-integration-key", key);
  const res = await exports.default.fetch(new Request(`${origin}/psa/tickets`, { headers: all }));
  expect(res.status).toBe(200);
  const [got] = await recorded("psa", id);
  if (got === undefined) throw new Error("nothing forwarded");
  return got;
}

const names = (raw: Array<[string, string]>) => raw.map(([n]) => n.toLowerCase());

/** Sends `name: value` with another header; checks the other is forwarded and `name`, and any `marker` in a value, are not. */
async function expectDropped(name: string, value: string, marker: string) {
  const got = await forwarded([[name, value], ["X-Kept", "yes"]]);
  expect(got.headers["x-kept"]).toBe("yes");
  expect(names(got.rawHeaders)).not.toContain(name.toLowerCase());
  expect(JSON.stringify(got.rawHeaders)).not.toContain(marker);
  return got;
}

describe("header names", () => {
  it("does not forward a look-alike identity header with an underscore, which CGI-style servers merge with the real one", async () => {
    const got = await forwarded([["X-OneStack_Tenant-Id", "victim"], ["x_onestack_principal_id", "usr_root"]]);
    expect(got.headers["x-onestack-tenant-id"]).toBe(keyTenant);
    expect(JSON.stringify(got.rawHeaders)).not.toContain("victim");
    expect(JSON.stringify(got.rawHeaders)).not.toContain("usr_root");
  });

  it("drops every request header whose name has an underscore, as nginx does by default", async () => {
    const got = await forwarded([["X_Forwarded_For", "10.0.0.1"], ["Content_Length", "0"], ["X-Custom_Thing", "a"], ["X-Custom-Thing", "b"]]);
    expect(names(got.rawHeaders).filter((n) => n.includes("_"))).toEqual([]);
    expect(got.headers["x-custom-thing"]).toBe("b");
  });

  it("never forwards an integration key under a look-alike name, which a CGI-style product reads as X-Integration-Key", async () => {
    const { key: other } = await createKey(tenant("hdr"), { psa: "write" });
    const got = await forwarded([["X-Integration_Key", other]]);
    expect(JSON.stringify(got.rawHeaders)).not.toContain(other);
  });

  it("drops a header whose name has a character other than a letter, a digit or a hyphen", async () => {
    const got = await forwarded([["X-OneStack.Tenant-Id", "victim"], ["X-Kept", "yes"]]);
    expect(JSON.stringify(got.rawHeaders)).not.toContain("victim");
    expect(got.headers["x-kept"]).toBe("yes");
  });
});

describe("forwarding headers", () => {
  const SPOOFED: Array<[string, string]> = [
    ["Forwarded", "for=10.0.0.1;host=admin.internal;proto=http"],
    ["X-Forwarded-For", "10.0.0.1"],
    ["X-Forwarded-Proto", "http"],
    ["X-Forwarded-Host", "admin.internal"],
    ["X-Forwarded-Prefix", "/admin"],
    ["X-Forwarded-Server", "admin.internal"],
    ["X-Forwarded-Port", "8443"],
    ["X-Original-URL", "/admin/users"],
    ["X-Rewrite-URL", "/admin/users"],
    ["X-Host", "admin.internal"],
    ["X-Real-IP", "10.0.0.1"],
    ["True-Client-IP", "10.0.0.1"],
    ["X-Client-IP", "10.0.0.1"],
    ["CF-IPCountry", "XX"],
    ["CF-Ray", "spoofed-ray"],
  ];

  it("forwards none of the client's forwarding and rewrite headers and sets its own from the edge", async () => {
    const got = await forwarded([...SPOOFED, ["CF-Connecting-IP", "203.0.113.9"]]);
    const sent = JSON.stringify(got.rawHeaders);
    for (const spoof of ["10.0.0.1", "admin", "8443", "XX", "spoofed-ray"]) expect(sent).not.toContain(spoof);
    expect(got.headers["x-forwarded-for"]).toBe("203.0.113.9");
    expect(got.headers["x-forwarded-proto"]).toBe("https");
    for (const name of ["forwarded", "x-forwarded-host", "x-forwarded-prefix", "x-original-url", "x-rewrite-url", "x-host", "x-real-ip", "cf-connecting-ip", "cf-ray"]) {
      expect(names(got.rawHeaders)).not.toContain(name);
    }
  });

  // Headers frameworks read as the request's host, URL or scheme (Symfony, Laravel, Django, Rails, Spring,
  // ASP.NET's ForwardedHeaders, IIS URL Rewrite, Zend, nginx ingress): a product trusting any of them would
  // build links, redirects or password-reset URLs for a host the client chose.
  it.each([
    ["X-HTTP-Host-Override", "evil.example"],
    ["X-Forwarded-Host", "evil.example"],
    ["X-Forwarded-Server", "evil.example"],
    ["X-Host", "evil.example"],
    ["X-Original-Host", "evil.example"],
    ["Forwarded", "host=evil.example"],
    ["X-Original-URL", "/evil.example"],
    ["X-Original-URI", "/evil.example"],
    ["X-Rewrite-URL", "/evil.example"],
    ["X-Original-Proto", "evil.example"],
    ["X-Original-For", "evil.example"],
    ["X-Original-Forwarded-For", "evil.example"],
    ["X-Scheme", "evil.example"],
    ["X-Forwarded-Scheme", "evil.example"],
    ["X-ARR-SSL", "evil.example"],
  ])("never forwards the host-override header %s", async (name, value) => {
    await expectDropped(name, value, "evil.example");
  });

  // The gateway terminates TLS, and a client presents no certificate to it: a certificate, chain, verify
  // result or subject a client wrote must never reach a product that would authenticate by it (nginx's
  // $ssl_client_*, Apache's SSL_CLIENT_*, HAProxy, Envoy's XFCC, Traefik, GCP and AWS load balancers, RFC 9440).
  it.each([
    ["X-Client-Cert", "spoofed-cert"],
    ["X-Client-Cert-Chain", "spoofed-cert"],
    ["X-Client-Cert-Present", "true-spoofed-cert"],
    ["X-Client-Verify", "SUCCESS-spoofed-cert"],
    ["SSL-Client-Cert", "spoofed-cert"],
    ["SSL-Client-Verify", "SUCCESS-spoofed-cert"],
    ["X-SSL-Client-Cert", "spoofed-cert"],
    ["X-SSL-Client-Verify", "SUCCESS-spoofed-cert"],
    ["X-SSL-Client-S-DN", "CN=spoofed-cert"],
    ["X-SSL-Client-DN", "CN=spoofed-cert"],
    ["X-SSL-Cert", "spoofed-cert"],
    ["X-Forwarded-Client-Cert", "By=spiffe://a;Hash=00;Subject=\"CN=spoofed-cert\""],
    ["X-Forwarded-Tls-Client-Cert", "spoofed-cert"],
    ["X-ARR-ClientCert", "spoofed-cert"],
    ["X-Amzn-Mtls-Clientcert", "spoofed-cert"],
    ["Client-Cert", ":c3Bvb2ZlZC1jZXJ0:spoofed-cert"],
    ["Client-Cert-Chain", ":c3Bvb2ZlZC1jZXJ0:spoofed-cert"],
  ])("never forwards the client-certificate header %s", async (name, value) => {
    await expectDropped(name, value, "spoofed-cert");
  });

  // The gateway is the authenticating proxy, and says who the caller is in X-OneStack-* alone. The identity
  // headers other authenticating proxies set, and products built behind them trust (Apache and nginx
  // REMOTE_USER, Kubernetes' authenticating proxy, oauth2-proxy, Kong, Grafana's auth proxy, Google IAP,
  // Azure App Service, AWS ALB OIDC, Pomerium), would let a client name any user to such a product.
  it.each([
    ["Remote-User", "spoofed-admin"],
    ["X-Remote-User", "spoofed-admin"],
    ["X-Remote-Group", "spoofed-admin"],
    ["X-Remote-Extra-Scopes", "spoofed-admin"],
    ["X-Auth-Request-User", "spoofed-admin"],
    ["X-Auth-Request-Email", "spoofed-admin@example.com"],
    ["X-Forwarded-User", "spoofed-admin"],
    ["X-Forwarded-Email", "spoofed-admin@example.com"],
    ["X-Authenticated-User", "spoofed-admin"],
    ["X-Authenticated-Userid", "spoofed-admin"],
    ["X-Consumer-Username", "spoofed-admin"],
    ["X-WEBAUTH-USER", "spoofed-admin"],
    ["X-Goog-Authenticated-User-Email", "accounts.google.com:spoofed-admin@example.com"],
    ["X-Goog-IAP-JWT-Assertion", "spoofed-admin"],
    ["X-MS-CLIENT-PRINCIPAL-NAME", "spoofed-admin"],
    ["X-MS-CLIENT-PRINCIPAL", "c3Bvb2ZlZA==spoofed-admin"],
    ["X-MS-TOKEN-AAD-ID-TOKEN", "spoofed-admin"],
    ["X-Amzn-Oidc-Identity", "spoofed-admin"],
    ["X-Amzn-Oidc-Data", "spoofed-admin"],
    ["X-Pomerium-Claim-Email", "spoofed-admin@example.com"],
    ["Cf-Access-Authenticated-User-Email", "spoofed-admin@example.com"],
  ])("never forwards the identity header %s that another authenticating proxy would set", async (name, value) => {
    const got = await expectDropped(name, value, "spoofed-admin");
    expect(got.headers["x-onestack-tenant-id"]).toBe(keyTenant);
  });

  it("sends no X-Forwarded-For when the edge did not name the client, whatever the client wrote", async () => {
    const got = await forwarded([["X-Forwarded-For", "10.0.0.1"]]);
    expect(names(got.rawHeaders)).not.toContain("x-forwarded-for");
  });

  it("takes X-Forwarded-Proto from the request URL's protocol", async () => {
    const got = await forwarded([["X-Forwarded-Proto", "https"]], "http://gateway.test");
    expect(got.headers["x-forwarded-proto"]).toBe("http");
  });

  it("sends exactly the client's end-to-end headers plus the gateway's", async () => {
    const got = await forwarded([["Accept", "application/json"], ["X-Custom", "kept"], ["CF-Connecting-IP", "2001:db8::1"]]);
    const gateway = ["x-request-id", "x-onestack-tenant-id", "x-onestack-principal-type", "x-onestack-principal-id", "x-forwarded-for", "x-forwarded-proto"];
    // Added by the runtime to every Worker subrequest, as Cloudflare does: the upstream's Host, and CF-Worker.
    const runtime = ["host", "cf-worker"];
    expect(names(got.rawHeaders).sort()).toEqual(["accept", "x-custom", ...gateway, ...runtime].sort());
    expect(got.headers["x-forwarded-for"]).toBe("2001:db8::1");
  });
});

describe("cookies", () => {
  const OTHERS = 'filter=status=open,priority=high; theme="a, b=c"';

  it("forwards other cookies byte for byte when no session cookie was sent", async () => {
    const got = await forwarded([["Cookie", OTHERS]]);
    expect(got.headers.cookie).toBe(OTHERS);
  });

  it.each([
    (t: string) => `filter=status=open,priority=high; os_session=${t}; theme="a, b=c"`,
    (t: string) => `os_session=${t}; ${OTHERS}`,
    (t: string) => `${OTHERS}; os_session=${t}`,
  ])("removes only the session cookie's pair and leaves every other byte (%#)", async (build) => {
    const token = await sessionToken(tenant(), ["psa:*"]);
    const got = await forwarded([["Cookie", build(token)]]);
    expect(got.headers.cookie).toBe(OTHERS);
    expect(JSON.stringify(got.rawHeaders)).not.toContain(token);
  });

  it.each(["OS_SESSION", "os.session", "os%5Fsession", "os_session[]"])(
    "refuses a key next to a session-cookie look-alike %s, which some framework reads as the session cookie, and forwards nothing",
    async (name) => {
      const token = await sessionToken(tenant(), ["psa:*"]);
      const id = rid("hdr");
      const res = await call("/psa/tickets", { headers: { "x-integration-key": key, cookie: `theme=dark; ${name}=${token}`, "x-request-id": id } });
      expect(res.status).toBe(401);
      expect((await envelope(res)).details).toEqual({ reason: "multiple_credentials" });
      expect(await recorded("psa", id)).toEqual([]);
    },
  );
});
