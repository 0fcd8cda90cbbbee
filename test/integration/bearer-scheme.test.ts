/**
 * One Bearer reader (src/http/bearer.ts) for both places a Bearer credential is read: the gateway's
 * credential detection and the admin secret. The auth scheme is case-insensitive (RFC 9110 §11.1), so a
 * spelling one of them takes, the other takes too; a spelling one refuses, the other refuses.
 */
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { bearerToken } from "../../src/http/bearer";
import { call, envelope, sessionToken, tenant } from "../support/gateway";

const SCHEMES = ["Bearer", "bearer", "BEARER", "bEaReR"];

describe("the Bearer scheme, read once", () => {
  it.each(SCHEMES)("reads %s <token> and its token only", (scheme) => {
    expect(bearerToken(`${scheme} abc.def-ghi`)).toBe("abc.def-ghi");
    expect(bearerToken(`${scheme}   abc `)).toBe("abc");
  });

  it.each([["no header", null], ["another scheme", "Basic abc"], ["no token", "Bearer "], ["two tokens", "Bearer a b"], ["no space", "Bearerabc"]])("reads no token from %s", (_case, value) => {
    expect(bearerToken(value)).toBeNull();
  });

  it.each(SCHEMES)("admits the admin secret under the scheme spelt %s", async (scheme) => {
    const res = await call(`/__gateway/admin/tenants/${tenant("bearer")}/keys`, { headers: { authorization: `${scheme} ${env.ADMIN_SECRET}` } });
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ data: [] });
  });

  it.each(SCHEMES)("admits a session token under the scheme spelt %s", async (scheme) => {
    const token = await sessionToken(tenant("bearer"), ["psa:*"]);
    const res = await call("/psa/tickets", { headers: { authorization: `${scheme} ${token}` } });
    expect(res.status).toBe(200);
    await res.body?.cancel();
  });

  it("refuses the admin secret under another scheme with 401", async () => {
    const res = await call(`/__gateway/admin/tenants/${tenant("bearer")}/keys`, { headers: { authorization: `Token ${env.ADMIN_SECRET}`, "cf-connecting-ip": "198.51.100.77" } });
    expect(res.status).toBe(401);
    expect((await envelope(res)).code).toBe("UNAUTHORIZED");
  });
});
