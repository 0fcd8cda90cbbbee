/**
 * Admin identity: Cloudflare Access tokens (`Cf-Access-Jwt-Assertion`, verified against the team's certs
 * on the loopback JWKS host, issuer and audience from configuration) accepted and refused for the right
 * reasons, the Access identity in the audit trail, and rotation of the bearer secret with
 * ADMIN_SECRET_NEXT. Each refusal comes from an address of its own, so the failed-auth limit never mixes in.
 */
import { createExecutionContext, waitOnExecutionContext } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { exportJWK, generateKeyPair, importJWK, SignJWT, type JWK, type JWTPayload } from "jose";
import { describe, expect, it } from "vitest";
import worker from "../../src/index";
import { tenant } from "../support/gateway";
import { weakRsaKey } from "../support/weak-rsa";

const TEAM = "https://onestack.cloudflareaccess.test";
const AUD = "aud-tag-0123456789";
let address = 0;
const freshAddress = () => `203.0.113.${(address += 1)}`;

async function rsaKey(kid: string) {
  const { privateKey, publicKey } = await generateKeyPair("RS256", { extractable: true });
  return { privateKey, kid, jwk: { ...(await exportJWK(publicKey)), kid, alg: "RS256", use: "sig" } as JWK };
}

/** A certs set of its own on the JWKS host and a gateway env whose Access application trusts it. */
async function accessSetup(vars: Record<string, string> = {}) {
  const id = `access-${crypto.randomUUID()}`;
  const key = await rsaKey("access-1");
  const control = (body: object) => fetch(`${env.TEST_JWKS_ORIGIN}/__control/${id}`, { method: "PUT", body: JSON.stringify(body) });
  expect((await control({ jwks: { keys: [key.jwk], public_cert: { kid: key.kid, cert: "unused" } } })).status).toBe(200);
  const gatewayEnv = { ...env, ACCESS_TEAM_DOMAIN: TEAM, ACCESS_AUD: AUD, ACCESS_CERTS_URL: `${env.TEST_JWKS_ORIGIN}/jwks/${id}`, ...vars };
  return { key, control, gatewayEnv };
}

function token(key: { privateKey: CryptoKey; kid: string }, claims: JWTPayload = {}, opts: { expiresInSec?: number; alg?: string } = {}) {
  const now = Math.floor(Date.now() / 1000);
  return new SignJWT({ iss: TEAM, aud: [AUD], email: "alice@onestack.example", sub: "7335d417-61da-459d-899c-0a01c76a4e1b", type: "app", ...claims })
    .setProtectedHeader({ alg: opts.alg ?? "RS256", kid: key.kid })
    .setIssuedAt(now - 10)
    .setExpirationTime(now + (opts.expiresInSec ?? 600))
    .sign(key.privateKey);
}

async function send(gatewayEnv: object, path: string, headers: Record<string, string>, init: RequestInit = {}) {
  const ctx = createExecutionContext();
  const res = await worker.fetch(new Request(`https://gateway.test/__gateway/admin${path}`, { ...init, headers: { "cf-connecting-ip": freshAddress(), ...headers } }), gatewayEnv as Env, ctx);
  await waitOnExecutionContext(ctx);
  const body = (await res.json()) as Record<string, unknown>;
  return { status: res.status, body, code: res.ok ? null : (body.code as string) };
}

describe("Cloudflare Access for admins", () => {
  it("accepts a valid Access token and records its email as the audit actor", async () => {
    const { key, gatewayEnv } = await accessSetup();
    const t = tenant("access");
    const assertion = { "cf-access-jwt-assertion": await token(key) };
    const created = await send(gatewayEnv, `/tenants/${t}/keys`, { ...assertion, "content-type": "application/json" }, { method: "POST", body: JSON.stringify({ name: "via access", access: { psa: "read" } }) });
    expect(created.status).toBe(201);
    const trail = await send(gatewayEnv, `/tenants/${t}/audit`, assertion);
    expect(trail.status).toBe(200);
    expect((trail.body.data as Array<{ actor: string; action: string }>).map((e) => [e.action, e.actor])).toEqual([["key.created", "access:alice@onestack.example"]]);
  });

  it("names a service token by its common_name", async () => {
    const { key, gatewayEnv } = await accessSetup();
    const t = tenant("access");
    const assertion = { "cf-access-jwt-assertion": await token(key, { email: undefined, common_name: "ops-cli.access" }) };
    expect((await send(gatewayEnv, `/tenants/${t}/rate-limit`, { ...assertion, "content-type": "application/json" }, { method: "PUT", body: JSON.stringify({ policies: [{ name: "burst", limit: 3, window: "1m" }] }) })).status).toBe(200);
    const trail = await send(gatewayEnv, `/tenants/${t}/audit`, assertion);
    expect((trail.body.data as Array<{ actor: string }>)[0]?.actor).toBe("access:ops-cli.access");
  });

  it("works without any ADMIN_SECRET (Access the only way in), and then refuses the old bearer secret", async () => {
    const { key, gatewayEnv } = await accessSetup({ ADMIN_SECRET: "" });
    expect((await send(gatewayEnv, `/tenants/${tenant()}/keys`, { "cf-access-jwt-assertion": await token(key) })).status).toBe(200);
    const bearer = await send(gatewayEnv, `/tenants/${tenant()}/keys`, { authorization: `Bearer ${env.ADMIN_SECRET}` });
    expect([bearer.status, bearer.code]).toEqual([401, "UNAUTHORIZED"]);
  });

  const refusals: Array<[string, (k: Awaited<ReturnType<typeof rsaKey>>) => Promise<string>, string]> = [
    ["another audience", (k) => token(k, { aud: ["some-other-app"] }), "UNAUTHORIZED"],
    ["another team as issuer", (k) => token(k, { iss: "https://evil.cloudflareaccess.com" }), "UNAUTHORIZED"],
    ["an expired token", (k) => token(k, {}, { expiresInSec: -120 }), "TOKEN_EXPIRED"],
    ["a key the certs do not hold", async () => token(await rsaKey("access-1")), "UNAUTHORIZED"],
    ["no email, common_name or sub", (k) => token(k, { email: undefined, sub: undefined }), "UNAUTHORIZED"],
    ["an identity with a bidi override", (k) => token(k, { email: "admin\u202E@x" , sub: undefined }), "UNAUTHORIZED"],
    ["a token that is not a JWT", async () => "not.a.jwt", "UNAUTHORIZED"],
  ];

  it.each(refusals)("refuses %s with 401 %s", async (_label, make, code) => {
    const { key, gatewayEnv } = await accessSetup();
    const res = await send(gatewayEnv, `/tenants/${tenant()}/keys`, { "cf-access-jwt-assertion": await make(key) });
    expect([res.status, res.code]).toEqual([401, code]);
  });

  it.each(["RS384", "RS512", "PS256"])("refuses %s signed by the trusted certs key, outside the RS256 allow-list, when the certs name no alg", async (alg) => {
    const { key, control, gatewayEnv } = await accessSetup();
    // Without `alg` on the JWK the key set itself admits every RSA algorithm: only the allow-list is left.
    const { alg: _alg, ...anyAlg } = key.jwk;
    expect((await control({ jwks: { keys: [anyAlg] } })).status).toBe(200);
    const privateJwk = await exportJWK(key.privateKey);
    delete privateJwk.alg;
    const signer = { privateKey: (await importJWK(privateJwk, alg)) as CryptoKey, kid: key.kid };
    expect((await send(gatewayEnv, `/tenants/${tenant()}/keys`, { "cf-access-jwt-assertion": await token(key) })).status).toBe(200);
    const res = await send(gatewayEnv, `/tenants/${tenant()}/keys`, { "cf-access-jwt-assertion": await token(signer, {}, { alg }) });
    expect([res.status, res.code]).toEqual([401, "UNAUTHORIZED"]);
  });

  it("refuses an HS256 token made with the public key's bytes", async () => {
    const { key, gatewayEnv } = await accessSetup();
    const secret = new TextEncoder().encode(JSON.stringify(key.jwk));
    const now = Math.floor(Date.now() / 1000);
    const forged = await new SignJWT({ iss: TEAM, aud: [AUD], email: "mallory@x" }).setProtectedHeader({ alg: "HS256", kid: key.kid }).setIssuedAt(now).setExpirationTime(now + 600).sign(secret);
    const res = await send(gatewayEnv, `/tenants/${tenant()}/keys`, { "cf-access-jwt-assertion": forged });
    expect([res.status, res.code]).toEqual([401, "UNAUTHORIZED"]);
  });

  it("ignores the Access header where Access is not configured (a client cannot assert it)", async () => {
    const { key } = await accessSetup();
    const res = await send(env, `/tenants/${tenant()}/keys`, { "cf-access-jwt-assertion": await token(key) });
    expect([res.status, res.code]).toEqual([401, "UNAUTHORIZED"]);
  });

  it("answers 503 SERVICE_UNAVAILABLE, not 401, when the certs endpoint fails", async () => {
    const { key, control, gatewayEnv } = await accessSetup();
    expect((await control({ mode: "fail" })).status).toBe(200);
    const res = await send(gatewayEnv, `/tenants/${tenant()}/keys`, { "cf-access-jwt-assertion": await token(key) });
    expect([res.status, res.code]).toEqual([503, "SERVICE_UNAVAILABLE"]);
  });

  it("answers 500, not 401, when the certs hold a key the gateway cannot use (a 1024-bit RSA key): the fault is not the admin's", async () => {
    const { control, gatewayEnv } = await accessSetup();
    const weak = await weakRsaKey("weak-access");
    expect((await control({ jwks: { keys: [weak.jwk] } })).status).toBe(200);
    const now = Math.floor(Date.now() / 1000);
    const assertion = await weak.sign({ iss: TEAM, aud: [AUD], email: "alice@onestack.example", iat: now - 10, exp: now + 600 });
    const res = await send(gatewayEnv, `/tenants/${tenant()}/keys`, { "cf-access-jwt-assertion": assertion });
    expect([res.status, res.code]).toEqual([500, "INTERNAL_ERROR"]);
  });
});

describe("bearer secret rotation", () => {
  const NEXT = "next-admin-secret-0123456789";

  it("accepts both ADMIN_SECRET and ADMIN_SECRET_NEXT during a rotation, and records which one", async () => {
    const rotating = { ...env, ADMIN_SECRET_NEXT: NEXT };
    const t = tenant("rotate");
    for (const secret of [env.ADMIN_SECRET, NEXT]) {
      const res = await send(rotating, `/tenants/${t}/rate-limit`, { authorization: `Bearer ${secret}`, "content-type": "application/json" }, { method: "PUT", body: JSON.stringify({ policies: [{ name: "burst", limit: secret === NEXT ? 2 : 1, window: "1m" }] }) });
      expect(res.status).toBe(200);
    }
    const trail = await send(rotating, `/tenants/${t}/audit`, { authorization: `Bearer ${NEXT}` });
    expect((trail.body.data as Array<{ actor: string }>).map((e) => e.actor)).toEqual(["admin-secret-next", "admin-secret"]);
    const wrong = await send(rotating, `/tenants/${t}/keys`, { authorization: "Bearer neither-secret-0123456789" });
    expect([wrong.status, wrong.code]).toEqual([401, "UNAUTHORIZED"]);
  });

  it("refuses the old secret once the rotation is finished (ADMIN_SECRET = the next one, no NEXT)", async () => {
    const rotated = { ...env, ADMIN_SECRET: NEXT, ADMIN_SECRET_NEXT: "" };
    expect((await send(rotated, `/tenants/${tenant()}/keys`, { authorization: `Bearer ${NEXT}` })).status).toBe(200);
    const old = await send(rotated, `/tenants/${tenant()}/keys`, { authorization: `Bearer ${env.ADMIN_SECRET}` });
    expect([old.status, old.code]).toEqual([401, "UNAUTHORIZED"]);
  });
});
