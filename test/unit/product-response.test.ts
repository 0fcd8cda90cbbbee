import { describe, expect, it } from "vitest";
import { GatewayError } from "../../src/errors";
import { assertJson, assertUtf8Charset } from "../../src/http/json-body";
import { rewriteLink, rewriteLocation, rewriteRefresh, type LocationContext } from "../../src/proxy/location";
import { isIdentityNamespace } from "../../src/http/header-names";
import { errorHeaders, passThroughHeaders } from "../../src/proxy/response-headers";
import { retryAfterSeconds } from "../../src/proxy/retry-after";

const NOW = Date.UTC(2026, 0, 1, 12, 0, 0);

const ctx = (basePath = ""): LocationContext => ({
  upstreamUrl: `http://10.0.0.5:8080${basePath}/tickets/1/comments`,
  upstreamOrigin: "http://10.0.0.5:8080",
  upstreamBasePath: basePath,
  publicOrigin: "https://api.example",
  productBasePath: "/psa",
});

describe("rewriteLocation (nginx proxy_redirect default)", () => {
  it.each([
    ["http://10.0.0.5:8080/tickets/2?a=1#f", "https://api.example/psa/tickets/2?a=1#f"],
    ["//10.0.0.5:8080/tickets/2", "https://api.example/psa/tickets/2"],
    ["/tickets/2", "/psa/tickets/2"],
    ["../3", "/psa/tickets/3"],
    ["?page=2", "/psa/tickets/1/comments?page=2"],
    ["https://elsewhere.example/x", "https://elsewhere.example/x"],
    ["http://10.0.0.5:9090/x", "http://10.0.0.5:9090/x"],
  ])("maps %s to %s", (value, expected) => {
    expect(rewriteLocation(value, ctx())).toBe(expected);
  });

  it("strips the upstream's base path and drops what lies outside it", () => {
    expect(rewriteLocation("http://10.0.0.5:8080/v2/tickets/2", ctx("/v2"))).toBe("https://api.example/psa/tickets/2");
    expect(rewriteLocation("/v2", ctx("/v2"))).toBe("/psa/");
    expect(rewriteLocation("/v2x/tickets", ctx("/v2"))).toBeNull();
    expect(rewriteLocation("http://10.0.0.5:8080/admin", ctx("/v2"))).toBeNull();
  });

  it("drops a value that is not a URL reference", () => {
    expect(rewriteLocation("http://[bad", ctx())).toBeNull();
  });
});

describe("rewriteLink and rewriteRefresh", () => {
  it("maps each link target, keeps parameters, and drops a link that must go", () => {
    const value = '<http://10.0.0.5:8080/v2/tickets?page=2>; rel="next"; title="a, <b>", </admin>; rel="x", <https://docs.example/a,b>; rel="help"';
    expect(rewriteLink(value, ctx("/v2"))).toBe('<https://api.example/psa/tickets?page=2>; rel="next"; title="a, <b>", <https://docs.example/a,b>; rel="help"');
    expect(rewriteLink("</admin>; rel=x", ctx("/v2"))).toBeNull();
  });

  it.each([
    ["0; url=http://10.0.0.5:8080/tickets", "0; url=https://api.example/psa/tickets"],
    ["3;URL='/tickets/9'", "3;URL='/psa/tickets/9'"],
    ["10", "10"],
    ["0; url=https://elsewhere.example/", "0; url=https://elsewhere.example/"],
  ])("maps Refresh %s to %s", (value, expected) => {
    expect(rewriteRefresh(value, ctx())).toBe(expected);
  });

  it("drops a Refresh it cannot read", () => {
    expect(rewriteRefresh("soon", ctx())).toBeNull();
  });
});

describe("retryAfterSeconds", () => {
  it.each([
    ["7", 7],
    ["0", 1],
    ["999999999", 86_400],
    [new Date(NOW + 30_000).toUTCString(), 30],
    ["Thu, 01 Jan 2026 12:00:29 GMT", 29],
    ["Thursday, 01-Jan-26 12:00:10 GMT", 10],
    ["Thu Jan  1 12:00:05 2026", 5],
    ["Thu, 01 Jan 2026 11:00:00 GMT", 1],
  ])("reads %s as %i seconds", (raw, seconds) => {
    expect(retryAfterSeconds(raw, NOW)).toBe(seconds);
  });

  it("rounds a date a fraction of a second away up, never early", () => {
    expect(retryAfterSeconds("Thu, 01 Jan 2026 12:00:02 GMT", NOW + 1_001)).toBe(1);
    expect(retryAfterSeconds("Thu, 01 Jan 2026 12:00:02 GMT", NOW + 999)).toBe(2);
  });

  it.each([null, "", "-1", "1.5", "soon", "2026-01-01T12:00:30Z"])("ignores %s", (raw) => {
    expect(retryAfterSeconds(raw, NOW)).toBeUndefined();
  });
});

describe("product response headers", () => {
  it("matches the identity namespace with - and _ alike", () => {
    expect(isIdentityNamespace("X-OneStack_Tenant-Id")).toBe(true);
    expect(isIdentityNamespace("x_onestack_principal_id")).toBe(true);
    expect(isIdentityNamespace("x-onestackish")).toBe(false);
  });

  it("drops a Set-Cookie for the session cookie (and a nameless one), keeping the others", () => {
    const upstream = new Headers();
    for (const line of ["os_session=x; Path=/", " os_session =y", "os_session", "os_session_pref=1", "theme=dark"]) upstream.append("set-cookie", line);
    expect(passThroughHeaders(upstream, { sessionCookie: "os_session", location: ctx() }).getSetCookie()).toEqual(["os_session_pref=1; Path=/psa", "theme=dark; Path=/psa"]);
  });
});

describe("product cookies scoped to the product's public path (nginx proxy_cookie_path)", () => {
  const scoped = (line: string, basePath = "") => {
    const upstream = new Headers();
    upstream.append("set-cookie", line);
    return passThroughHeaders(upstream, { sessionCookie: "os_session", location: ctx(basePath) }).getSetCookie();
  };

  it.each([
    ["no Path (the browser would default it from the request path)", "theme=dark", "", "theme=dark; Path=/psa"],
    ["Path=/ (every product on the origin)", "theme=dark; Path=/; HttpOnly", "", "theme=dark; HttpOnly; Path=/psa"],
    ["a path inside the product", "cart=1; path=/tickets; Secure", "", "cart=1; Secure; Path=/psa/tickets"],
    ["a path inside the upstream base path", "cart=1; Path=/v2/tickets", "/v2", "cart=1; Path=/psa/tickets"],
    ["the upstream base path itself", "cart=1; Path=/v2", "/v2", "cart=1; Path=/psa"],
    ["a path outside the upstream base path", "cart=1; Path=/admin", "/v2", "cart=1; Path=/psa"],
    ["a path that is not a path", "cart=1; Path=tickets", "", "cart=1; Path=/psa"],
    ["two Path attributes (the last one counts)", "cart=1; Path=/; Path=/tickets", "", "cart=1; Path=/psa/tickets"],
    ["a Domain (widening it to subdomains)", "sso=1; Domain=gateway.test; Path=/; SameSite=Lax", "", "sso=1; SameSite=Lax; Path=/psa"],
    ["a quoted value with a semicolon-free comma", 'prefs="a,b"; Max-Age=60', "", 'prefs="a,b"; Max-Age=60; Path=/psa'],
  ])("scopes a cookie with %s", (_label, line, base, expected) => {
    expect(scoped(line, base)).toEqual([expected]);
  });

  it("drops a __Host- cookie: it must have Path=/ and so cannot be one product's", () => {
    expect(scoped("__Host-id=1; Path=/; Secure")).toEqual([]);
    expect(scoped("__host-id=1; Path=/; Secure")).toEqual([]);
  });

  it("sets a product cookie on the product's path, never on another product's", () => {
    const [line] = scoped("theme=dark; Path=/");
    expect(line).toMatch(/; Path=\/psa$/);
    expect(line).not.toMatch(/Path=\/(;|$)/);
  });

  it("drops host-revealing and gateway-owned headers in any spelling", () => {
    const upstream = new Headers({ "Clear-Site-Data": '"cookies"', "Strict-Transport-Security": "max-age=0", "X-Backend_Host": "10.0.0.5", x_powered_by: "PHP", "Access-Control-Max-Age": "1", "X-Upstream-Addr": "a", "Cache-Control": "private" });
    const out = passThroughHeaders(upstream, { sessionCookie: "os_session", location: ctx() });
    expect([...out.keys()]).toEqual(["cache-control"]);
  });

  it("keeps only Retry-After and a 405's Allow on an error", () => {
    const upstream = new Headers({ "retry-after": "3", allow: "GET, POST", etag: '"v1"', "x-debug-host": "h" });
    expect(errorHeaders(405, upstream, NOW)).toEqual({ "Retry-After": "3", Allow: "GET, POST" });
    expect(errorHeaders(404, upstream, NOW)).toEqual({ "Retry-After": "3" });
    expect(errorHeaders(405, new Headers({ allow: "GET, <script>" }), NOW)).toEqual({});
  });
});

describe("the JSON check", () => {
  const bytes = (s: string) => new TextEncoder().encode(s);
  const codeOf = (f: () => void) => {
    try {
      f();
      return null;
    } catch (err) {
      return err instanceof GatewayError ? err.code : "thrown";
    }
  };

  it.each([
    ["a BOM", Uint8Array.from([0xef, 0xbb, 0xbf, ...bytes("{}")]), "INVALID_JSON"],
    ["invalid UTF-8", Uint8Array.from([0x22, 0xc3, 0x28, 0x22]), "INVALID_JSON"],
    ["a lone surrogate in an array", bytes('["\\uDBFF"]'), "INVALID_JSON"],
    ["a surrogate pair", bytes('{"a":"\\uD83D\\uDE00"}'), null],
    ["a literal U+FEFF inside a string", bytes('{"a":"\uFEFF"}'), null],
    ["duplicate member names (left to the product)", bytes('{"a":1,"a":2}'), null],
  ])("%s -> %s", (_what, body, code) => {
    expect(codeOf(() => assertJson(body))).toBe(code);
  });

  it.each([
    ["application/json", null],
    ["application/json; charset=utf-8", null],
    ['application/json; CHARSET="utf8"', null],
    ["application/json; charset=iso-8859-1", "VALIDATION_ERROR"],
    ["application/json; charset=utf-16le", "VALIDATION_ERROR"],
  ])("Content-Type %s -> %s", (contentType, code) => {
    expect(codeOf(() => assertUtf8Charset(contentType))).toBe(code);
  });
});
