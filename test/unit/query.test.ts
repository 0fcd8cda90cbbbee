import { describe, expect, it } from "vitest";
import { extractCredential } from "../../src/auth/credentials";
import { queryOf } from "../../src/http/query";
import { assertNoMethodOverride } from "../../src/routing/method-override";
import { refusal } from "../support/refusal";

describe("queryOf", () => {
  it("is null for a URL without a query, or with an empty one", () => {
    expect(queryOf(new URL("https://gateway.test/psa/tickets"))).toBeNull();
    expect(queryOf(new URL("https://gateway.test/psa/tickets?"))).toBeNull();
  });

  it("gives every parameter of a URL that has a query", () => {
    const query = queryOf(new URL("https://gateway.test/psa/tickets?page=2&_method=PUT"));
    expect([...(query?.keys() ?? [])]).toEqual(["page", "_method"]);
  });

  it("still lets the query checks refuse what they refused: a credential or a method override in the query", () => {
    const withKey = queryOf(new URL("https://gateway.test/psa/tickets?api_key=x"));
    expect(refusal(() => extractCredential(new Headers(), withKey, "os_session"))).toMatchObject({ code: "UNAUTHORIZED", details: { reason: "credential_in_query" } });
    const withOverride = queryOf(new URL("https://gateway.test/psa/tickets?_method=DELETE"));
    expect(refusal(() => assertNoMethodOverride(new Headers(), withOverride))).toMatchObject({ code: "VALIDATION_ERROR" });
  });

  it("leaves nothing to check without a query, and the headers are still checked", () => {
    expect(extractCredential(new Headers(), null, "os_session")).toEqual({ kind: "none" });
    expect(() => assertNoMethodOverride(new Headers(), null)).not.toThrow();
    expect(refusal(() => assertNoMethodOverride(new Headers({ "x-http-method-override": "DELETE" }), null))).toMatchObject({ code: "VALIDATION_ERROR" });
  });
});
