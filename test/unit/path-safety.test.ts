import { describe, expect, it } from "vitest";
import { GatewayError } from "../../src/errors";
import { assertSafePath, MAX_PATH_LENGTH } from "../../src/routing/path-safety";

function refusal(path: string): GatewayError {
  try {
    assertSafePath(path);
  } catch (err) {
    if (err instanceof GatewayError) return err;
    throw err;
  }
  throw new Error(`expected ${path} to be refused`);
}

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
  ])("refuses %s with VALIDATION_ERROR naming the path", (_name, path) => {
    const err = refusal(path);
    expect(err.code).toBe("VALIDATION_ERROR");
    expect(err.status).toBe(400);
    expect(err.details).toMatchObject({ fields: { path: expect.any(String) } });
  });

  it("refuses a path longer than the bound", () => {
    expect(refusal("/" + "a".repeat(MAX_PATH_LENGTH)).code).toBe("VALIDATION_ERROR");
  });
});
