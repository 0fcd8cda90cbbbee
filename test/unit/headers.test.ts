import { requestHeaderNames } from "../../src/http/header-names";
import { describe, expect, it } from "vitest";
import { keepEndToEnd, upstreamRequestHeaders } from "../../src/proxy/headers";

const URL_HTTPS = new URL("https://gateway.example/psa/tickets");

describe("upstreamRequestHeaders", () => {
  const incoming = new Headers({
    Host: "gateway.example",
    "X-Forwarded-Host": "evil.example",
    "X-Integration-Key": "osk_secret",
    Authorization: "Bearer secret",
    Connection: "keep-alive, X-Hop",
    "X-Hop": "1",
    "Keep-Alive": "timeout=5",
    "Transfer-Encoding": "chunked",
    Upgrade: "websocket",
    "X-OneStack-Tenant-Id": "spoofed",
    "x-onestack-principal-type": "admin",
    Cookie: "theme=dark; os_session=jwt; lang=en",
    "X-Custom": "kept",
    Accept: "application/json",
  });
  const out = upstreamRequestHeaders(incoming, { requestId: "req-12345678", identity: { "X-OneStack-Tenant-Id": "t_real" }, sessionCookie: "os_session", url: URL_HTTPS });

  it("drops hop-by-hop headers and those named in Connection", () => {
    for (const h of ["connection", "x-hop", "keep-alive", "transfer-encoding", "upgrade"]) expect(out.has(h)).toBe(false);
  });

  it("drops credentials, Host and X-Forwarded-Host", () => {
    for (const h of ["host", "x-forwarded-host", "x-integration-key", "authorization"]) expect(out.has(h)).toBe(false);
  });

  it("replaces the whole reserved namespace with the gateway's identity", () => {
    expect(out.get("x-onestack-tenant-id")).toBe("t_real");
    expect(out.has("x-onestack-principal-type")).toBe(false);
  });

  it("removes only the session cookie and keeps the rest in order", () => {
    expect(out.get("cookie")).toBe("theme=dark; lang=en");
  });

  it("keeps the client's other headers and sets the request id", () => {
    expect(out.get("x-custom")).toBe("kept");
    expect(out.get("accept")).toBe("application/json");
    expect(out.get("x-request-id")).toBe("req-12345678");
  });
});

describe("upstreamRequestHeaders: names and forwarding", () => {
  const forward = (headers: HeadersInit, url = URL_HTTPS) => upstreamRequestHeaders(new Headers(headers), { requestId: "req-12345678", identity: {}, url });

  it("drops every header whose name has an underscore, which CGI-style servers read as a dash", () => {
    const out = forward({ "X-OneStack_Tenant-Id": "victim", X_Forwarded_For: "10.0.0.1", Content_Length: "0", "X-Custom_Thing": "a", "X-Kept": "b" });
    expect([...out.keys()].filter((n) => n !== "x-request-id" && n !== "x-forwarded-proto")).toEqual(["x-kept"]);
  });

  it("drops header names with characters other than letters, digits and hyphens", () => {
    const out = forward({ "X-OneStack.Tenant-Id": "victim", "X-A!b": "1", "X-Kept": "b" });
    expect(out.has("x-onestack.tenant-id")).toBe(false);
    expect(out.has("x-a!b")).toBe(false);
    expect(out.get("x-kept")).toBe("b");
  });

  it.each([
    "Forwarded", "X-Forwarded-For", "X-Forwarded-Proto", "X-Forwarded-Prefix", "X-Forwarded-Server", "X-Forwarded-Port", "X-Forwarded-Ssl", "X-Forwarded",
    "X-Original-URL", "X-Rewrite-URL", "X-Original-URI", "X-Host", "X-Original-Host", "X-Real-IP", "True-Client-IP", "X-Client-IP", "X-Cluster-Client-IP",
    "Client-IP", "Fastly-Client-IP", "X-Originating-IP", "X-Remote-IP", "X-Remote-Addr", "Front-End-Https", "X-Url-Scheme", "X-Envoy-External-Address",
    "CF-Ray", "CF-IPCountry", "CF-Visitor", "X-Original-Method",
  ])("does not forward the client's %s", (name) => {
    const out = forward({ [name]: "spoofed.example" });
    for (const value of out.values()) expect(value).not.toContain("spoofed");
  });

  it("sets X-Forwarded-For to CF-Connecting-IP alone and X-Forwarded-Proto from the request URL", () => {
    const out = forward({ "CF-Connecting-IP": "203.0.113.9", "X-Forwarded-For": "10.0.0.1", "X-Forwarded-Proto": "http" });
    expect(out.get("x-forwarded-for")).toBe("203.0.113.9");
    expect(out.get("x-forwarded-proto")).toBe("https");
    expect(out.has("cf-connecting-ip")).toBe(false);
  });

  it("omits X-Forwarded-For when the edge did not say who connected, or said something that is no address", () => {
    expect(forward({ "X-Forwarded-For": "10.0.0.1" }).has("x-forwarded-for")).toBe(false);
    expect(forward({ "CF-Connecting-IP": "10.0.0.1, 1.2.3.4" }).has("x-forwarded-for")).toBe(false);
  });

  it("sets X-Forwarded-Proto http for a plain-HTTP request URL", () => {
    expect(forward({}, new URL("http://gateway.example/psa/tickets")).get("x-forwarded-proto")).toBe("http");
  });

  it("forwards a Cookie header without the session cookie byte for byte", () => {
    const cookie = 'filter=status=open,priority=high; theme="a, b=c"';
    expect(upstreamRequestHeaders(new Headers({ cookie }), { requestId: "r", identity: {}, url: URL_HTTPS, sessionCookie: "os_session" }).get("cookie")).toBe(cookie);
  });
});

describe("keepEndToEnd", () => {
  it("drops the names its caller withholds, in the same pass", () => {
    const upstream = new Headers({ Server: "nginx", ETag: '"v1"' });
    const out = keepEndToEnd(upstream, [...upstream.keys()], (name) => name === "server");
    expect([...out.keys()]).toEqual(["etag"]);
  });

  it("drops hop-by-hop and Connection-named headers from responses", () => {
    const upstream = new Headers({ Connection: "close, X-Secret-Hop", "X-Secret-Hop": "1", "Keep-Alive": "x", ETag: '"v1"' });
    const out = keepEndToEnd(upstream, [...upstream.keys()], () => false);
    expect([...out.keys()]).toEqual(["etag"]);
  });
});

describe("requestHeaderNames", () => {
  it("reads a request's header names once and answers later steps from that reading", () => {
    const headers = new Headers({ "X-Integration-Key": "k", Accept: "*/*" });
    const first = requestHeaderNames(headers);
    expect([...first].sort()).toEqual(["accept", "x-integration-key"]);
    expect(requestHeaderNames(headers)).toBe(first);
    expect(requestHeaderNames(new Headers({ Accept: "*/*" }))).toEqual(["accept"]);
  });
});
