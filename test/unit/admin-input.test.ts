import { describe, expect, it } from "vitest";
import { isDisplaySafe, parseRfc3339 } from "../../src/admin/input";

describe("parseRfc3339", () => {
  it.each([
    ["2030-01-31T00:00:00Z", Date.UTC(2030, 0, 31)],
    ["2030-01-31T02:30:00+02:30", Date.UTC(2030, 0, 31)],
    ["2030-01-30T22:00:00-02:00", Date.UTC(2030, 0, 31)],
    ["2030-01-31t00:00:00.123456789z", Date.UTC(2030, 0, 31, 0, 0, 0, 123)],
    ["2028-02-29T00:00:00Z", Date.UTC(2028, 1, 29)],
  ])("reads %s", (text, expected) => {
    expect(parseRfc3339(text)).toBe(expected);
  });

  it.each([
    "2030", "2030-01", "2030-01-31", "2030-01-31T00:00Z", "2030-01-31T00:00:00", "2030-01-31 00:00:00Z",
    "Thu, 31 Jan 2030 00:00:00 GMT", "2029-02-29T00:00:00Z", "2030-13-01T00:00:00Z", "2030-01-31T24:00:00Z",
    "2030-01-31T00:60:00Z", "2030-01-31T00:00:60Z", "2030-01-31T00:00:00+24:00", "2030-01-31T00:00:00+02:60",
    "2030-01-31T00:00:00.Z", "+02030-01-31T00:00:00Z", " 2030-01-31T00:00:00Z", "2030-01-31T00:00:00Z\n",
  ])("refuses %j", (text) => {
    expect(parseRfc3339(text)).toBeNull();
  });
});

describe("isDisplaySafe", () => {
  it.each(["Zapier", "Billing sync (prod)", "請求", "Ça va 🚀", "e\u0301", "🚀".repeat(100)])("accepts %j", (name) => {
    expect(isDisplaySafe(name, 100)).toBe(true);
  });

  it.each([
    ["empty", ""], ["blank", "  "], ["NUL", "a\u0000"], ["DEL", "a\u007f"], ["C1 NEL", "a\u0085"],
    ["RLO", "a\u202Eb"], ["LRE", "a\u202Ab"], ["LRI", "a\u2066b"], ["PDI", "a\u2069b"], ["ZWSP", "a\u200Bb"],
    ["ZWNJ", "a\u200Cb"], ["LRM", "a\u200Eb"], ["RLM", "a\u200Fb"], ["word joiner", "a\u2060b"], ["BOM", "\uFEFFa"],
    ["lone high surrogate", "a\uD800"], ["lone low surrogate", "\uDC00a"], ["private use", "a\uE000"],
    ["line separator", "a\u2028b"], ["paragraph separator", "a\u2029b"], ["101 code points", "n".repeat(101)],
    ["not a string", 42],
  ])("refuses %s", (_label, name) => {
    expect(isDisplaySafe(name, 100)).toBe(false);
  });
});
