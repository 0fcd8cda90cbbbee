import { describe, expect, it } from "vitest";
import { downstreamResponseHeaders, upstreamRequestHeaders, withoutCookie } from "../../src/proxy/headers";

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
  const out = upstreamRequestHeaders(incoming, { requestId: "req-12345678", identity: { "X-OneStack-Tenant-Id": "t_real" }, sessionCookie: "os_session" });

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

describe("withoutCookie", () => {
  it("leaves nothing when only the session cookie was sent", () => {
    expect(withoutCookie("os_session=abc", "os_session")).toBe("");
  });
});

describe("downstreamResponseHeaders", () => {
  it("drops hop-by-hop and Connection-named headers from responses", () => {
    const out = downstreamResponseHeaders(new Headers({ Connection: "close, X-Secret-Hop", "X-Secret-Hop": "1", "Keep-Alive": "x", ETag: '"v1"' }));
    expect([...out.keys()]).toEqual(["etag"]);
  });
});
