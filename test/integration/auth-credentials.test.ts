/**
 * Which credential a request carries, and what of it reaches a product: exactly one credential, never one
 * in the query string, never forwarded; identity headers set by the gateway alone.
 */
import { describe, expect, it } from "vitest";
import { call, createKey, envelope, portalToken, recorded, rid, sessionToken, tenant } from "../support/gateway";

/** Sends `init` with a fresh request id; returns the response, its envelope when it failed, and what PSA got. */
async function send(path: string, headers: HeadersInit, init: RequestInit = {}) {
  const id = rid("cred");
  const all = new Headers(headers);
  all.set("x-request-id", id);
  const res = await call(path, { ...init, headers: all });
  const body = res.ok ? null : await envelope(res);
  return { res, body, forwarded: await recorded("psa", id) };
}

describe("credentials: exactly one", () => {
  it("refuses a request without any credential", async () => {
    const { res, body, forwarded } = await send("/psa/tickets", {});
    expect(res.status).toBe(401);
    expect(body?.code).toBe("UNAUTHORIZED");
    expect(forwarded).toEqual([]);
  });

  it("accepts a bearer token whose scheme is written in lowercase", async () => {
    const t = tenant();
    const { res } = await send("/psa/tickets", { authorization: `bearer ${await sessionToken(t, ["psa:*"])}` });
    expect(res.status).toBe(200);
  });

  it("accepts the session cookie alone", async () => {
    const t = tenant();
    const { res, forwarded } = await send("/psa/tickets", { cookie: `theme=dark; os_session=${await sessionToken(t, ["psa:*"])}` });
    expect(res.status).toBe(200);
    expect(forwarded[0]?.headers["x-onestack-tenant-id"]).toBe(t);
  });

  type Creds = { key: string; otherKey: string; token: string };
  type Pairs = Array<[string, string]>;

  async function credentials(): Promise<Creds> {
    const t = tenant();
    const { key } = await createKey(t, { psa: "write" });
    const { key: otherKey } = await createKey(t, { psa: "write" });
    const token = await sessionToken(t, ["psa:*"]);
    return { key, otherKey, token };
  }

  it.each([
    ["a key and a bearer token", (c: Creds): Pairs => [["x-integration-key", c.key], ["authorization", `Bearer ${c.token}`]]],
    ["two keys in a repeated header", (c: Creds): Pairs => [["x-integration-key", c.key], ["x-integration-key", c.otherKey]]],
    ["the same key twice", (c: Creds): Pairs => [["x-integration-key", c.key], ["x-integration-key", c.key]]],
    ["two Authorization headers", (c: Creds): Pairs => [["authorization", `Bearer ${c.token}`], ["authorization", `Bearer ${c.token}`]]],
    ["a bearer token and the session cookie", (c: Creds): Pairs => [["authorization", `Bearer ${c.token}`], ["cookie", `os_session=${c.token}`]]],
    ["a key and the session cookie", (c: Creds): Pairs => [["x-integration-key", c.key], ["cookie", `os_session=${c.token}`]]],
    ["two session cookies", (c: Creds): Pairs => [["cookie", `os_session=${c.token}; os_session=${c.token}`]]],
    ["a key and the session cookie in a second Cookie header", (c: Creds): Pairs => [["x-integration-key", c.key], ["cookie", "theme=dark"], ["cookie", `os_session=${c.token}`]]],
    ["the session cookie in a second Cookie header", (c: Creds): Pairs => [["cookie", "theme=dark"], ["cookie", `os_session=${c.token}`]]],
  ])("refuses %s with 401 and forwards nothing", async (_label, build) => {
    const { res, body, forwarded } = await send("/psa/tickets", build(await credentials()));
    expect(res.status).toBe(401);
    expect(body?.code).toBe("UNAUTHORIZED");
    expect(forwarded).toEqual([]);
  });

  it.each([
    ["Basic", () => `Basic ${btoa("admin:admin")}`],
    ["an integration key as a bearer token", async () => `Bearer ${(await createKey(tenant(), { psa: "write" })).key}`],
    ["a bearer token with trailing junk", async () => `Bearer ${await sessionToken(tenant(), ["psa:*"])} junk`],
  ])("refuses an Authorization header holding %s", async (_label, make) => {
    const { res, body, forwarded } = await send("/psa/tickets", { authorization: await make() });
    expect(res.status).toBe(401);
    expect(body?.code).toBe("UNAUTHORIZED");
    expect(forwarded).toEqual([]);
  });
});

describe("credentials: never in the query string", () => {
  it.each(["api_key", "access_token", "apikey", "integration_key", "id_token", "jwt", "os_session", "API_KEY", "Access_Token"])(
    "refuses a valid credential sent as ?%s=, alone or next to a valid header",
    async (name) => {
      const t = tenant();
      const { key } = await createKey(t, { psa: "write" });
      const token = await sessionToken(t, ["psa:*"]);
      const secret = /key/i.test(name) ? key : token;
      const alone = await send(`/psa/tickets?${name}=${encodeURIComponent(secret)}`, {});
      expect(alone.res.status).toBe(401);
      expect(alone.body?.code).toBe("UNAUTHORIZED");
      expect(alone.forwarded).toEqual([]);
      const withHeader = await send(`/psa/tickets?page=1&${name}=${encodeURIComponent(secret)}`, { "x-integration-key": key });
      expect(withHeader.res.status).toBe(401);
      expect(withHeader.forwarded).toEqual([]);
    },
  );

  it.each([
    ["key", "key"],
    ["token", "token"],
    ["access.token", "access.token"],
    ["access+token", "access token"],
    ["access_token[]", "access_token[]"],
    ["access_token%5B%5D", "access_token[]"],
    ["Access.Token", "Access.Token"],
    ["%61ccess_token", "access_token"],
    ["api-key", "api-key"],
  ])("refuses ?%s=, a name common frameworks read as a credential, and forwards nothing", async (raw, parameter) => {
    const t = tenant();
    const { key } = await createKey(t, { psa: "write" });
    const { res, body, forwarded } = await send(`/psa/tickets?page=1&${raw}=${encodeURIComponent(key)}`, { "x-integration-key": key });
    expect(res.status).toBe(401);
    expect(body?.details).toEqual({ reason: "credential_in_query", parameter });
    expect(forwarded).toEqual([]);
  });

  it("forwards parameters whose names only contain a credential word", async () => {
    const { key } = await createKey(tenant(), { psa: "read" });
    const { res, forwarded } = await send("/psa/tickets?page_token=abc&sort_key=title&token_type=x", { "x-integration-key": key });
    expect(res.status).toBe(200);
    expect(forwarded[0]?.url).toBe("/tickets?page_token=abc&sort_key=title&token_type=x");
  });

  it("forwards an ordinary query string untouched", async () => {
    const { key } = await createKey(tenant(), { psa: "read" });
    const { res, forwarded } = await send("/psa/tickets?page=2&status=open", { "x-integration-key": key });
    expect(res.status).toBe(200);
    expect(forwarded[0]?.url).toBe("/tickets?page=2&status=open");
  });
});

describe("identity to the product", () => {
  const SPOOFED: Array<[string, string]> = [
    ["X-OneStack-Tenant-Id", "victim-tenant"],
    ["x-onestack-principal-type", "admin"],
    ["X-ONESTACK-PRINCIPAL-ID", "usr_root"],
    ["X-OneStack-Customer-Id", "cus_victim"],
    ["X-OneStack-Roles", "superuser"],
  ];

  /** Every header name the product received, lowercased. */
  const names = (raw: Array<[string, string]>) => raw.map(([n]) => n.toLowerCase());

  it("replaces every client-sent X-OneStack-* with the key's identity and drops the key", async () => {
    const t = tenant();
    const { key, keyId } = await createKey(t, { psa: "read" });
    const { res, forwarded } = await send("/psa/tickets", [["x-integration-key", key], ...SPOOFED]);
    expect(res.status).toBe(200);
    const got = forwarded[0];
    expect(got?.headers["x-onestack-tenant-id"]).toBe(t);
    expect(got?.headers["x-onestack-principal-type"]).toBe("key");
    expect(got?.headers["x-onestack-principal-id"]).toBe(keyId);
    const sent = names(got?.rawHeaders ?? []);
    expect(sent.filter((n) => n.startsWith("x-onestack-")).sort()).toEqual(["x-onestack-principal-id", "x-onestack-principal-type", "x-onestack-tenant-id"]);
    expect(sent).not.toContain("x-integration-key");
    expect(JSON.stringify(got?.rawHeaders)).not.toContain(key);
  });

  it("forwards a user's identity and never the bearer token", async () => {
    const t = tenant();
    const token = await sessionToken(t, ["psa:*"], { sub: "usr_42" });
    const { res, forwarded } = await send("/psa/tickets", [["authorization", `Bearer ${token}`], ...SPOOFED]);
    expect(res.status).toBe(200);
    const got = forwarded[0];
    expect(got?.headers["x-onestack-tenant-id"]).toBe(t);
    expect(got?.headers["x-onestack-principal-type"]).toBe("user");
    expect(got?.headers["x-onestack-principal-id"]).toBe("usr_42");
    expect(got?.headers["x-onestack-customer-id"]).toBeUndefined();
    expect(names(got?.rawHeaders ?? [])).not.toContain("authorization");
    expect(JSON.stringify(got?.rawHeaders)).not.toContain(token);
  });

  it("forwards a portal caller's customer from the token, not from the request", async () => {
    const t = tenant();
    const token = await portalToken(t, "cus_own", { sub: "contact_7" });
    const { res, forwarded } = await send("/psa/portal/tickets", [["authorization", `Bearer ${token}`], ...SPOOFED]);
    expect(res.status).toBe(200);
    const got = forwarded[0];
    expect(got?.headers["x-onestack-tenant-id"]).toBe(t);
    expect(got?.headers["x-onestack-principal-type"]).toBe("portal");
    expect(got?.headers["x-onestack-principal-id"]).toBe("contact_7");
    expect(got?.headers["x-onestack-customer-id"]).toBe("cus_own");
    expect(got?.headers["x-onestack-roles"]).toBeUndefined();
  });

  it("strips the session cookie and forwards the other cookies", async () => {
    const t = tenant();
    const token = await sessionToken(t, ["psa:*"]);
    const { res, forwarded } = await send("/psa/tickets", { cookie: `theme=dark; os_session=${token}; lang=en` });
    expect(res.status).toBe(200);
    expect(forwarded[0]?.headers.cookie).toBe("theme=dark; lang=en");
    expect(JSON.stringify(forwarded[0]?.rawHeaders)).not.toContain(token);
  });

  it("sends no Cookie header when the session cookie was the only one", async () => {
    const t = tenant();
    const { res, forwarded } = await send("/psa/tickets", { cookie: `os_session=${await sessionToken(t, ["psa:*"])}` });
    expect(res.status).toBe(200);
    expect(names(forwarded[0]?.rawHeaders ?? [])).not.toContain("cookie");
  });
});
