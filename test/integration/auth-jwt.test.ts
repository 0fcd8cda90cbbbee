/**
 * Session and portal JWTs through the whole pipeline: the time rules (tolerance, expiry, maximum age,
 * nbf), the required claims, and the wall between session and portal tokens. Time is injected: tokens are
 * minted with `iat`/`exp` in the past instead of waiting.
 */
import { env } from "cloudflare:workers";
import type { JWTPayload } from "jose";
import { describe, expect, it } from "vitest";
import { call, envelope, mintToken, portalToken, recorded, rid, sessionToken, tenant } from "../support/gateway";
import { captureLogs } from "../support/logs";
import { weakRsaKey } from "../support/weak-rsa";
import { callWith, envWith } from "../support/worker";

const now = () => Math.floor(Date.now() / 1000);

/** Sends a token as a bearer (or as the session cookie) and reports status, code and what PSA received. */
async function withToken(token: string, path = "/psa/tickets", via: "bearer" | "cookie" = "bearer", method = "GET") {
  const id = rid("jwt");
  const headers = new Headers({ "x-request-id": id });
  if (via === "bearer") headers.set("authorization", `Bearer ${token}`);
  else headers.set("cookie", `os_session=${token}`);
  if (method === "POST") headers.set("content-type", "application/json");
  const res = await call(path, {
    method,
    headers,
    ...(method === "POST" ? { body: JSON.stringify({ title: "Printer on fire", priority: "high" }) } : {}),
  });
  const body = res.ok ? null : await envelope(res);
  return { status: res.status, code: body?.code ?? null, details: body?.details ?? null, forwarded: await recorded("psa", id) };
}

describe("session tokens: time", () => {
  it.each(["bearer", "cookie"] as const)("accepts a token expired 10 s ago, within the clock tolerance (%s)", async (via) => {
    const token = await sessionToken(tenant(), ["psa:*"], {}, { issuedAtSec: now() - 610, expiresInSec: 600 });
    expect((await withToken(token, "/psa/tickets", via)).status).toBe(200);
  });

  it.each(["bearer", "cookie"] as const)("answers TOKEN_EXPIRED for a token expired beyond the tolerance and forwards nothing (%s)", async (via) => {
    const token = await sessionToken(tenant(), ["psa:*"], {}, { issuedAtSec: now() - 700, expiresInSec: 600 });
    const result = await withToken(token, "/psa/tickets", via);
    expect(result.status).toBe(401);
    expect(result.code).toBe("TOKEN_EXPIRED");
    expect(result.forwarded).toEqual([]);
  });

  it("answers TOKEN_EXPIRED for a portal token expired beyond the tolerance", async () => {
    const token = await portalToken(tenant(), "cus_1", {}, { issuedAtSec: now() - 3600, expiresInSec: 600 });
    expect(await withToken(token, "/psa/portal/tickets")).toMatchObject({ status: 401, code: "TOKEN_EXPIRED" });
  });

  it("answers TOKEN_EXPIRED for a token older than the maximum token age even though exp is ahead", async () => {
    const token = await sessionToken(tenant(), ["psa:*"], {}, { issuedAtSec: now() - 2 * 86_400, expiresInSec: 2 * 86_400 + 600 });
    expect(await withToken(token)).toMatchObject({ status: 401, code: "TOKEN_EXPIRED" });
  });

  it("refuses a token whose nbf is in the future with UNAUTHORIZED", async () => {
    const token = await sessionToken(tenant(), ["psa:*"], { nbf: now() + 300 });
    expect(await withToken(token)).toMatchObject({ status: 401, code: "UNAUTHORIZED" });
  });

  it("refuses a token issued in the future with UNAUTHORIZED", async () => {
    const token = await sessionToken(tenant(), ["psa:*"], {}, { issuedAtSec: now() + 300 });
    expect(await withToken(token)).toMatchObject({ status: 401, code: "UNAUTHORIZED" });
  });
});

describe("session tokens: claims", () => {
  const base = (t: string): JWTPayload => ({ aud: env.JWT_SESSION_AUDIENCE, token_use: "session", sub: "usr_1", tid: t, perms: ["psa:*"] });

  it("accepts a complete session token and forwards its identity", async () => {
    const t = tenant();
    const result = await withToken(await mintToken(base(t)));
    expect(result.status).toBe(200);
    expect(result.forwarded[0]?.headers["x-onestack-tenant-id"]).toBe(t);
    expect(result.forwarded[0]?.headers["x-onestack-principal-type"]).toBe("user");
  });

  it.each([
    ["no tenant claim", { tid: undefined }],
    ["an empty tenant claim", { tid: "" }],
    ["a tenant claim carrying a header break", { tid: "t1\r\nX-OneStack-Tenant-Id: victim" }],
    ["a tenant claim outside the admin API's grammar (a colon)", { tid: "rt:odd" }],
    ["no subject", { sub: undefined }],
    ["a foreign issuer", { iss: "https://evil.example" }],
    ["no issuer", { iss: undefined }],
    ["a foreign audience", { aud: "another-api" }],
    ["no audience", { aud: undefined }],
    ["no token_use", { token_use: undefined }],
    ["perms that are not a list", { perms: "*" }],
  ])("refuses a token with %s with UNAUTHORIZED and forwards nothing", async (_label, claims) => {
    const result = await withToken(await mintToken({ ...base(tenant()), ...(claims as JWTPayload) }));
    expect(result.status).toBe(401);
    expect(result.code).toBe("UNAUTHORIZED");
    expect(result.forwarded).toEqual([]);
  });
});

describe("portal tokens", () => {
  it("reaches a portal-designated route with its customer id", async () => {
    const t = tenant();
    const result = await withToken(await portalToken(t, "cus_1"), "/psa/portal/tickets");
    expect(result.status).toBe(200);
    expect(result.forwarded[0]?.headers["x-onestack-customer-id"]).toBe("cus_1");
  });

  it("may file a ticket through the portal's write route", async () => {
    const result = await withToken(await portalToken(tenant(), "cus_1"), "/psa/portal/tickets", "bearer", "POST");
    expect(result.status).toBe(201);
    expect(result.forwarded[0]?.method).toBe("POST");
  });

  it.each([
    ["GET", "/psa/tickets", "tickets.read"],
    ["POST", "/psa/tickets", "tickets.write"],
  ])("is refused on %s %s with FORBIDDEN saying portal tokens need a portal route", async (method, path, permission) => {
    const result = await withToken(await portalToken(tenant(), "cus_1"), path, "bearer", method);
    expect(result.status).toBe(403);
    expect(result.code).toBe("FORBIDDEN");
    expect(result.details).toEqual({ requiredProduct: "psa", requiredPermission: permission, portal: false });
    expect(result.forwarded).toEqual([]);
  });

  it("is refused on another product with FORBIDDEN", async () => {
    const id = rid("jwt");
    const res = await call("/rmm/devices", { headers: { authorization: `Bearer ${await portalToken(tenant(), "cus_1")}`, "x-request-id": id } });
    expect(res.status).toBe(403);
    expect((await envelope(res)).code).toBe("FORBIDDEN");
    expect(await recorded("rmm", id)).toEqual([]);
  });

  it("never passes as a session: portal audience with token_use session, or session audience with token_use portal", async () => {
    const t = tenant();
    const portalAudAsSession = await mintToken({ aud: env.JWT_PORTAL_AUDIENCE, token_use: "session", sub: "c", tid: t, cid: "cus_1", perms: ["*"] });
    const sessionAudAsPortal = await mintToken({ aud: env.JWT_SESSION_AUDIENCE, token_use: "portal", sub: "c", tid: t, cid: "cus_1", perms: ["*"] });
    expect(await withToken(portalAudAsSession)).toMatchObject({ status: 401, code: "UNAUTHORIZED" });
    expect(await withToken(sessionAudAsPortal, "/psa/portal/tickets")).toMatchObject({ status: 401, code: "UNAUTHORIZED" });
  });

  it("refuses a token claiming both audiences", async () => {
    const token = await mintToken({ aud: [env.JWT_SESSION_AUDIENCE, env.JWT_PORTAL_AUDIENCE], token_use: "portal", sub: "c", tid: tenant(), cid: "cus_1" });
    expect(await withToken(token, "/psa/portal/tickets")).toMatchObject({ status: 401, code: "UNAUTHORIZED" });
  });

  it("refuses a portal token without a customer id", async () => {
    const token = await portalToken(tenant(), "cus_1", { cid: undefined });
    expect(await withToken(token, "/psa/portal/tickets")).toMatchObject({ status: 401, code: "UNAUTHORIZED" });
  });

  it("a session token with a portal token's claims added is still only a session", async () => {
    const t = tenant();
    const token = await sessionToken(t, [], { cid: "cus_1" });
    const result = await withToken(token, "/psa/portal/tickets");
    // No permissions: refused as a user, not admitted as a portal caller.
    expect(result).toMatchObject({ status: 403, code: "FORBIDDEN" });
  });
});

describe("a failure that is not the token's", () => {
  it("answers a key set the gateway cannot use (a 1024-bit RSA key) with 500, logged as an exception, not a 401 blaming the token", async () => {
    const weak = await weakRsaKey("weak-1");
    const t = now();
    const token = await weak.sign({ iss: env.JWT_ISSUER, aud: "onestack-api", token_use: "session", sub: "usr_1", tid: tenant("weak"), iat: t, exp: t + 600 });
    const id = rid("weak");
    let res: Response | undefined;
    const lines = await captureLogs(async () => {
      res = await callWith(envWith({ JWKS: JSON.stringify({ keys: [weak.jwk] }), JWT_ALGORITHMS: "RS256" }), "/psa/tickets", { headers: { authorization: `Bearer ${token}`, "x-request-id": id } });
    });
    expect(res?.status).toBe(500);
    expect(await envelope(res as Response)).toEqual({ error: expect.any(String), code: "INTERNAL_ERROR", details: null });
    const exception = lines.map((l) => JSON.parse(l) as Record<string, unknown>).find((e) => e.msg === "exception" && e.requestId === id);
    expect(exception).toMatchObject({ error: { name: "TypeError" } });
    expect(await recorded("psa", id, 0)).toEqual([]);
  });
});
