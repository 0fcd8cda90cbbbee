import { describe, expect, it } from "vitest";
import { contentLength } from "../../src/http/content-length";

describe("contentLength", () => {
  it.each([
    ["0", 0],
    ["1048576", 1048576],
    ["999999999999999", 999999999999999],
  ])("reads %s as a length", (value, expected) => {
    expect(contentLength(value)).toBe(expected);
  });

  it.each([
    ["absent", null],
    ["empty", ""],
    ["negative", "-1"],
    ["signed", "+5"],
    ["a fraction", "1.5"],
    ["a list (two Content-Length headers joined)", "5, 5"],
    ["padded (callers trim where the HTTP grammar allows)", " 5"],
    ["hexadecimal", "0x10"],
    ["16 digits (past the 15 that every value stays below 2^53 with)", "9007199254740993"],
  ])("reads %s as no length", (_label, value) => {
    expect(contentLength(value)).toBeUndefined();
  });
});
