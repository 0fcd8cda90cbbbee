/**
 * The admin input schemas through the one validation hook: the same `details.fields` (names and messages)
 * as the hand-written checks they replaced, including the cases where several problems are reported at once.
 */
import { describe, expect, it } from "vitest";
import { newKeyInput, policiesInput } from "../../src/admin/input";
import { duplicateMember } from "../../src/shared/json-members";
import { issueField, issuesToFields } from "../../src/shared/schema-issues";
import { GatewayError } from "../../src/errors";

const LIMIT = "Must be an integer from 1 to 1000000";
const WINDOW = "Must be a duration from 1s to 1d, like 30s, 1m, 2h";
const NAME = "Must be 1-32 lowercase letters, digits, - or _";

function fieldsOf(run: () => unknown): Record<string, string> {
  try {
    run();
  } catch (err) {
    if (err instanceof GatewayError && err.code === "VALIDATION_ERROR") return (err.details as { fields: Record<string, string> }).fields;
    throw err;
  }
  throw new Error("expected VALIDATION_ERROR");
}

describe("policiesInput", () => {
  it("reads window strings as seconds", () => {
    expect(policiesInput({ policies: [{ name: "burst", limit: 10, window: "90s" }, { name: "day", limit: 5, window: "1d" }] })).toEqual([
      { name: "burst", limit: 10, windowSec: 90 },
      { name: "day", limit: 5, windowSec: 86_400 },
    ]);
  });

  it("reports a duplicate name together with another entry's bad limit", () => {
    expect(fieldsOf(() => policiesInput({ policies: [{ name: "a", limit: 0, window: "1m" }, { name: "a", limit: 1, window: "1m" }] }))).toEqual({
      "policies[0].limit": LIMIT,
      "policies[1].name": "Must be unique",
    });
  });

  it("names every field of an entry that is not an object", () => {
    expect(fieldsOf(() => policiesInput({ policies: [5] }))).toEqual({ "policies[0].name": NAME, "policies[0].limit": LIMIT, "policies[0].window": WINDOW });
  });

  it("gives a missing field its own rule, not a generic one", () => {
    expect(fieldsOf(() => policiesInput({ policies: [{ name: "a", limit: 1 }] }))).toEqual({ "policies[0].window": WINDOW });
    expect(fieldsOf(() => policiesInput({}))).toEqual({ policies: "Must be a list of 1 to 4 policies" });
  });

  it("checks the list's length before its entries (five bad entries: one problem)", () => {
    expect(fieldsOf(() => policiesInput({ policies: [1, 2, 3, 4, 5] }))).toEqual({ policies: "Must be a list of 1 to 4 policies" });
  });

  it.each([1.5, "10", -1, 1_000_001])("refuses the limit %j", (limit) => {
    expect(fieldsOf(() => policiesInput({ policies: [{ name: "a", limit, window: "1m" }] }))).toEqual({ "policies[0].limit": LIMIT });
  });
});

describe("newKeyInput", () => {
  const products = ["psa", "rmm"];
  const now = Date.UTC(2030, 0, 1);

  it("names name and access of an empty body with their rules", () => {
    expect(fieldsOf(() => newKeyInput({}, products, now))).toEqual({
      name: "Must be 1-100 characters that display: no control, format (bidi, zero-width), blank (Hangul filler, braille blank), unassigned or unpaired surrogate characters, and no combining mark first",
      access: 'Must map at least one product (psa, rmm) to "read" or "write"',
    });
  });

  it("names each bad product entry, inherited names included", () => {
    const body = JSON.parse('{"name":"k","access":{"psa":"root","__proto__":"read","crm":"write"}}') as Record<string, unknown>;
    expect(fieldsOf(() => newKeyInput(body, products, now))).toEqual({
      "access.psa": 'Must be "read" or "write"',
      "access.__proto__": "Unknown product; one of psa, rmm",
      "access.crm": "Unknown product; one of psa, rmm",
    });
  });

  it.each([5, "2029-12-31T23:59:59Z", "2030-01-01T00:00:00Z"])("refuses the expiry %j (not a string, or not in the future)", (expiresAt) => {
    expect(Object.keys(fieldsOf(() => newKeyInput({ name: "k", access: { psa: "read" }, expiresAt }, products, now)))).toEqual(["expiresAt"]);
  });

  it("trims the name, keeps access and stores the expiry as UTC; null and absent expiries are null", () => {
    expect(newKeyInput({ name: " k ", access: { rmm: "write" }, expiresAt: "2030-01-02T02:00:00+02:00" }, products, now)).toEqual({ name: "k", access: { rmm: "write" }, expiresAt: "2030-01-02T00:00:00.000Z" });
    expect(newKeyInput({ name: "k", access: { psa: "read" }, expiresAt: null }, products, now).expiresAt).toBeNull();
    expect(newKeyInput({ name: "k", access: { psa: "read" } }, products, now).expiresAt).toBeNull();
  });
});

describe("issue field names", () => {
  it("joins object keys with dots and array indexes in brackets, under a root", () => {
    expect(issueField({ message: "m", path: [{ key: "policies" }, { key: 2 }, { key: "name" }] })).toBe("policies[2].name");
    expect(issueField({ message: "m", path: [{ key: "routes" }, { key: 0 }] }, "products.psa")).toBe("products.psa.routes[0]");
    expect(issueField({ message: "m" }, "tenantId")).toBe("tenantId");
    expect(issueField({ message: "m" })).toBe("body");
  });

  it("keeps the first message for a field", () => {
    expect(issuesToFields([{ message: "first", path: ["a"] }, { message: "second", path: ["a"] }])).toEqual({ a: "first" });
  });
});

describe("duplicateMember", () => {
  it.each([
    ['{"a":1,"b":2}', null],
    ['{"a":{"x":1},"b":{"x":2}}', null],
    ['[{"a":1},{"a":2}]', null],
    ['{"a":1,"a":2}', "a"],
    ['{"a":{"b":[1,{"c":1,"d":"}\\",{","c":2}]}}', "a.b[1].c"],
    ['{"a\\u0062":1,"ab":2}', "ab"],
    ['{"p":[[],{"q":1}],"r":{"s":{},"s":{}}}', "r.s"],
    ['{"x y":1,"x y":2}', '["x y"]'],
  ])("finds the repeated member of %s: %s", (text, found) => {
    expect(duplicateMember(text)).toBe(found);
  });
});
