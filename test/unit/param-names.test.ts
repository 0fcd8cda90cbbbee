import { describe, expect, it } from "vitest";
import { frameworkName } from "../../src/http/param-names";

describe("frameworkName", () => {
  it.each([
    ["access_token", "access_token"],
    ["ACCESS_TOKEN", "access_token"],
    ["access.token", "access_token"],
    ["access token", "access_token"],
    [" access_token", "access_token"],
    ["access-token", "access_token"],
    ["access_token[]", "access_token"],
    ["access_token[0]", "access_token"],
    ["access_token[a][b]", "access_token"],
    ["access.token[x.y]", "access_token"],
    ["access[token", "access_token"],
    ["access_token\u0000junk", "access_token"],
    ["_METHOD", "_method"],
    ["_method[]", "_method"],
  ])("reads %j as %j", (name, expected) => {
    expect(frameworkName(name)).toBe(expected);
  });

  it.each(["page_token", "token_type", "sort_key", "page"])("keeps the distinct name %s distinct", (name) => {
    expect(frameworkName(name)).toBe(name);
  });
});
