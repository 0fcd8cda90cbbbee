import { describe, expect, it } from "vitest";
import { extractCredential } from "../../src/auth/credentials";
import { refusal } from "../support/refusal";

const KEY = "osk_AAAAAAAAAAAAAAAAAAAAAAAA000000";
const JWT = "eyJhbGciOiJFUzI1NiJ9.eyJzdWIiOiJ4In0.c2ln";

function extract(headers: HeadersInit, query = "") {
  return extractCredential(new Headers(headers), new URLSearchParams(query), "os_session");
}


describe("extractCredential", () => {
  it("finds nothing on a request without credentials", () => {
    expect(extract({ cookie: "theme=dark" })).toEqual({ kind: "none" });
  });

  it("takes an integration key from X-Integration-Key", () => {
    expect(extract({ "x-integration-key": KEY })).toEqual({ kind: "key", key: KEY });
  });

  it("takes a token from Authorization: Bearer, the scheme in any case", () => {
    expect(extract({ authorization: `Bearer ${JWT}` })).toEqual({ kind: "token", token: JWT });
    expect(extract({ authorization: `bearer ${JWT}` })).toEqual({ kind: "token", token: JWT });
  });

  it("takes a token from the session cookie among other cookies", () => {
    expect(extract({ cookie: `theme=dark; os_session=${JWT}; lang=en` })).toEqual({ kind: "token", token: JWT });
  });

  it("does not mistake a cookie whose name merely contains the session cookie's", () => {
    expect(extract({ cookie: `xos_session=${JWT}; os_session_old=${JWT}` })).toEqual({ kind: "none" });
  });

  it.each([
    ["Basic", `Basic ${btoa("user:pass")}`],
    ["Token", `Token ${KEY}`],
    ["a bearer without a token", "Bearer "],
    ["a bearer with two tokens", `Bearer ${JWT} ${JWT}`],
    ["a bare token", JWT],
  ])("refuses an Authorization header that is %s", (_label, value) => {
    expect(refusal(() => extract({ authorization: value })).code).toBe("UNAUTHORIZED");
  });

  it.each([
    ["a key and a bearer token", { "x-integration-key": KEY, authorization: `Bearer ${JWT}` }],
    ["a key and a session cookie", { "x-integration-key": KEY, cookie: `os_session=${JWT}` }],
    ["a bearer token and a session cookie", { authorization: `Bearer ${JWT}`, cookie: `os_session=${JWT}` }],
    ["two session cookies", { cookie: `os_session=${JWT}; theme=dark; os_session=${JWT}` }],
  ])("refuses %s as ambiguous", (_label, headers) => {
    const err = refusal(() => extract(headers));
    expect(err.code).toBe("UNAUTHORIZED");
    expect(err.details).toEqual({ reason: "multiple_credentials" });
  });

  it.each([
    ["X-Integration-Key", "x-integration-key", KEY],
    ["Authorization", "authorization", `Bearer ${JWT}`],
  ])("refuses a repeated %s header as ambiguous", (_label, name, value) => {
    const headers = new Headers();
    headers.append(name, value);
    headers.append(name, value);
    const err = refusal(() => extractCredential(headers, new URLSearchParams(), "os_session"));
    expect(err.code).toBe("UNAUTHORIZED");
    expect(err.details).toEqual({ reason: "multiple_credentials" });
  });

  it("refuses a session cookie carried in a repeated Cookie header, where it hides behind a comma", () => {
    const headers = new Headers();
    headers.append("cookie", "theme=dark");
    headers.append("cookie", `os_session=${JWT}`);
    expect(headers.get("cookie")).toBe(`theme=dark, os_session=${JWT}`);
    expect(refusal(() => extractCredential(headers, new URLSearchParams(), "os_session")).code).toBe("UNAUTHORIZED");
  });

  it.each(["OS_SESSION", "os.session", "os%5Fsession", "os_session[]"])("refuses a key next to the session cookie's look-alike %s", (name) => {
    const err = refusal(() => extract({ "x-integration-key": KEY, cookie: `theme=dark; ${name}=${JWT}` }));
    expect(err.code).toBe("UNAUTHORIZED");
    expect(err.details).toEqual({ reason: "multiple_credentials" });
  });

  it("still accepts a session cookie next to another cookie whose value contains commas", () => {
    expect(extract({ cookie: `prefs={"a":1,"b":2}; os_session=${JWT}` })).toEqual({ kind: "token", token: JWT });
  });

  it.each(["access_token", "api_key", "apikey", "integration_key", "x-integration-key", "id_token", "jwt", "os_session", "API_KEY", "Access_Token", "OS_SESSION"])(
    "refuses a credential in the query parameter %s",
    (name) => {
      const err = refusal(() => extract({}, `page=2&${name}=${KEY}`));
      expect(err.code).toBe("UNAUTHORIZED");
      expect(err.details).toEqual({ reason: "credential_in_query", parameter: name });
    },
  );

  it.each([
    ["key", "key"],
    ["token", "token"],
    ["access.token", "access.token"],
    ["access+token", "access token"],
    ["access%20token", "access token"],
    ["access_token[]", "access_token[]"],
    ["access_token%5B%5D", "access_token[]"],
    ["access_token[0]", "access_token[0]"],
    ["access%5Ftoken", "access_token"],
    ["ACCESS.TOKEN", "ACCESS.TOKEN"],
    ["api-key", "api-key"],
    ["x_integration_key", "x_integration_key"],
    ["os.session", "os.session"],
  ])("refuses ?%s=, which common frameworks read as a credential name", (raw, sent) => {
    const err = refusal(() => extract({ "x-integration-key": KEY }, `page=2&${raw}=${KEY}`));
    expect(err.code).toBe("UNAUTHORIZED");
    expect(err.details).toEqual({ reason: "credential_in_query", parameter: sent });
  });

  it("refuses a query credential even next to a valid header credential", () => {
    expect(refusal(() => extract({ "x-integration-key": KEY }, `api_key=${KEY}`)).code).toBe("UNAUTHORIZED");
  });

  it("ignores ordinary query parameters", () => {
    expect(extract({ "x-integration-key": KEY }, "page=2&token_type=x&page_token=abc&sort_key=value&keys=a")).toEqual({ kind: "key", key: KEY });
  });
});
