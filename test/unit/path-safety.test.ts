import { describe, expect, it } from "vitest";
import { assertSafePath, MAX_PATH_LENGTH } from "../../src/routing/path-safety";
import { refusal } from "../support/refusal";

const refusedPath = (path: string) => refusal(() => assertSafePath(path));

describe("assertSafePath", () => {
  it.each(["/psa/tickets", "/psa/tickets/tkt_1", "/rmm/devices/a.b~c-d_e", "/psa/tickets/caf%C3%A9", "/"])("accepts %s", (path) => {
    expect(() => assertSafePath(path)).not.toThrow();
  });

  it.each([
    ["encoded slash", "/psa/tickets%2F1"],
    ["encoded slash lowercase", "/psa/tickets%2f..%2fadmin"],
    ["encoded backslash", "/psa/tickets%5C1"],
    ["encoded dot", "/psa/%2E%2E/admin"],
    ["NUL", "/psa/tickets%00"],
    ["double encoding", "/psa/tickets/%252e%252e"],
    ["encoded control", "/psa/tickets/%0d%0aX-Injected:1"],
    ["empty segment", "/psa//tickets"],
    ["leading double slash", "//evil.example/x"],
    ["dot-dot segment", "/psa/../admin"],
    ["dot segment", "/psa/./tickets"],
    ["raw backslash", "/psa\\tickets"],
    ["raw control", "/psa/tick\u0001ets"],
    ["not absolute", "psa/tickets"],
    // Matrix parameters: a Tomcat/Spring product strips `;...` from a segment, so `..;` is `..` to it.
    ["a dot-dot segment with a path parameter", "/psa/tickets/..;/attachments"],
    ["a dot segment with a path parameter", "/psa/.;x/tickets"],
    ["a segment that is only a path parameter", "/psa/;x/tickets"],
    ["an encoded semicolon", "/psa/tickets/x%3B/attachments"],
    ["an encoded semicolon, lowercase", "/psa/tickets/x%3b"],
    ["a double-encoded semicolon", "/psa/tickets/x%253B"],
    // Other spellings servers read specially.
    ["IIS %u encoding of a dot", "/psa/%u002e%u002e/admin"],
    ["a lone percent sign", "/psa/tickets/100%"],
    ["a percent sign followed by one hex digit", "/psa/tickets/%4"],
    ["an overlong UTF-8 dot", "/psa/%C0%AE%C0%AE/admin"],
    ["an overlong UTF-8 slash", "/psa/tickets%C0%AFadmin"],
    ["a truncated UTF-8 sequence", "/psa/tickets/%C3"],
    ["an encoded lone surrogate", "/psa/tickets/%ED%A0%80"],
    ["a fullwidth dot pair, NFKC '..'", "/psa/%EF%BC%8E%EF%BC%8E/admin"],
    ["a fullwidth solidus, NFKC '/'", "/psa/tickets%EF%BC%8Fadmin"],
    ["an encoded C1 control", "/psa/tickets/%C2%85"],
    ["an encoded number sign", "/psa/tickets/x%23y"],
    ["an encoded question mark", "/psa/tickets/x%3Fy"],
    ["a dot-dot segment with a trailing space (Windows strips it)", "/psa/..%20/admin"],
    ["a triple-dot segment", "/psa/.../admin"],
    ["raw non-ASCII (never in a serialized path)", "/psa/caf\u00e9"],
  ])("refuses %s with VALIDATION_ERROR naming the path", (_name, path) => {
    const err = refusedPath(path);
    expect(err.code).toBe("VALIDATION_ERROR");
    expect(err.status).toBe(400);
    expect(err.details).toMatchObject({ fields: { path: expect.any(String) } });
  });

  it("accepts a raw semicolon inside a segment: whether a route allows it is the route table's decision", () => {
    expect(() => assertSafePath("/psa/tickets;v=1/x")).not.toThrow();
  });

  it.each(["/psa/tickets/v1.0", "/psa/tickets/a..b", "/psa/tickets/%E2%82%AC", "/psa/tickets/a:b"])("accepts %s", (path) => {
    expect(() => assertSafePath(path)).not.toThrow();
  });

  it("refuses a path longer than the bound", () => {
    expect(refusedPath("/" + "a".repeat(MAX_PATH_LENGTH)).code).toBe("VALIDATION_ERROR");
  });
});
