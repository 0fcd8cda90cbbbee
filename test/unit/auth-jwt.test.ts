import { env } from "cloudflare:workers";
import { errors, importJWK, SignJWT, type JWTPayload } from "jose";
import { describe, expect, it } from "vitest";
import devKey from "../../dev/keys/dev-signing-key.private.jwk.json";
import { mapJoseError, MAX_TOKEN_LENGTH, verifyToken } from "../../src/auth/jwt";
import { knownToken, rememberToken } from "../../src/auth/verified-tokens";
import { isTenantId } from "../../src/shared/tenant-id";
import { parseAuthConfig, type AuthConfig } from "../../src/config/auth";
import { ConfigError } from "../../src/config/validate";
import { GatewayError } from "../../src/errors";

// The clock every token here is measured against; verifyToken takes it injected.
const NOW_SEC = 2_000_000_000;
const NOW = new Date(NOW_SEC * 1000);

const config: AuthConfig = parseAuthConfig({ ...env }, "development");

async function sign(claims: JWTPayload, header: Record<string, unknown> = {}): Promise<string> {
  const key = await importJWK(devKey, "ES256");
  return new SignJWT({ iss: config.issuer, aud: config.sessionAudience, token_use: "session", sub: "usr_1", tid: "t1", iat: NOW_SEC - 10, exp: NOW_SEC + 600, ...claims })
    .setProtectedHeader({ alg: "ES256", kid: devKey.kid, ...header })
    .sign(key);
}

async function outcome(token: string, now = NOW): Promise<string> {
  try {
    const principal = await verifyToken(token, config, now);
    return principal.type;
  } catch (err) {
    if (err instanceof GatewayError) return err.code;
    throw err;
  }
}

describe("verifyToken", () => {
  it("turns a valid session token into a user principal with its tenant and permissions", async () => {
    const principal = await verifyToken(await sign({ perms: ["psa:*"] }), config, NOW);
    expect(principal).toEqual({ type: "user", tenantId: "t1", userId: "usr_1", permissions: ["psa:*"] });
  });

  it("turns a valid portal token into a portal principal with its customer", async () => {
    const token = await sign({ aud: config.portalAudience, token_use: "portal", sub: "contact_1", cid: "cus_9" });
    expect(await verifyToken(token, config, NOW)).toEqual({ type: "portal", tenantId: "t1", subject: "contact_1", customerId: "cus_9" });
  });

  it("accepts a token expired by less than the 30 s clock tolerance", async () => {
    expect(await outcome(await sign({ exp: NOW_SEC - 29 }))).toBe("user");
  });

  it("answers TOKEN_EXPIRED once the token expired beyond the tolerance", async () => {
    expect(await outcome(await sign({ exp: NOW_SEC - 31 }))).toBe("TOKEN_EXPIRED");
  });

  it("answers TOKEN_EXPIRED for a token older than the maximum token age, however far its exp", async () => {
    expect(await outcome(await sign({ iat: NOW_SEC - 86_400 - 31, exp: NOW_SEC + 600 }))).toBe("TOKEN_EXPIRED");
    expect(await outcome(await sign({ iat: NOW_SEC - 86_400 + 60, exp: NOW_SEC + 600 }))).toBe("user");
  });

  it("refuses a token issued in the future beyond the tolerance", async () => {
    expect(await outcome(await sign({ iat: NOW_SEC + 31, exp: NOW_SEC + 600 }))).toBe("UNAUTHORIZED");
  });

  it("refuses a token not yet valid beyond the tolerance, and accepts one within it", async () => {
    expect(await outcome(await sign({ nbf: NOW_SEC + 31 }))).toBe("UNAUTHORIZED");
    expect(await outcome(await sign({ nbf: NOW_SEC + 29 }))).toBe("user");
  });

  it.each(["exp", "iat", "sub", "tid", "iss", "aud", "token_use"])("refuses a session token without %s", async (claim) => {
    expect(await outcome(await sign({ [claim]: undefined }))).toBe("UNAUTHORIZED");
  });

  it.each(["t", "A-b_9", "t".repeat(64)])("accepts the tenant id %s, which the admin API accepts too", async (tid) => {
    const principal = await verifyToken(await sign({ tid }), config, NOW);
    expect(principal.tenantId).toBe(tid);
    expect(isTenantId(tid)).toBe(true);
  });

  it("refuses a portal token without cid", async () => {
    expect(await outcome(await sign({ aud: config.portalAudience, token_use: "portal" }))).toBe("UNAUTHORIZED");
  });

  it.each([
    ["a foreign issuer", { iss: "https://evil.example" }],
    ["a foreign audience", { aud: "someone-else" }],
    ["both audiences at once", { aud: [config.sessionAudience, config.portalAudience] }],
    ["the session audience with token_use portal", { token_use: "portal", cid: "cus_1" }],
    ["the portal audience with token_use session", { aud: config.portalAudience }],
    ["an unknown token_use", { token_use: "id" }],
    ["a tenant id with a line break", { tid: "t1\nX-Injected: 1" }],
    ["a tenant id that is not a string", { tid: 42 }],
    ["an oversized tenant id", { tid: "t".repeat(65) }],
    ["a tenant id with a colon, which would cross KV key prefixes", { tid: "rt:odd" }],
    ["a tenant id with a dot", { tid: "a.b" }],
    ["a tenant id with an @", { tid: "a@b" }],
    ["a tenant id starting with -", { tid: "-t" }],
    ["perms that are not a list", { perms: "psa:*" }],
    ["perms holding a non-string", { perms: ["psa:*", 1] }],
    ["exp that is not a number", { exp: "never" }],
  ])("refuses a token with %s", async (_label, claims) => {
    expect(await outcome(await sign(claims as JWTPayload))).toBe("UNAUTHORIZED");
  });

  it.each([
    ["jwk", { kty: "EC", crv: "P-256", x: "l-HxISQZhAH209fwB0bRdmV-DwZjYEBtwtZPa99kLjs", y: "NYDL9he3pjBCMkgITj-YeoSa-J00tA1Z71KVKNgXv64" }],
    ["jku", "https://idp.example/jwks.json"],
    ["x5u", "https://idp.example/cert.pem"],
    ["x5c", ["MIIBfake"]],
  ])("refuses a token signed by the trusted key that embeds a %s header", async (name, value) => {
    expect(await outcome(await sign({}))).toBe("user");
    expect(await outcome(await sign({}, { [name]: value }))).toBe("UNAUTHORIZED");
  });

  it("refuses a token over 8 KiB before parsing it", async () => {
    const token = `${await sign({})}.${"A".repeat(MAX_TOKEN_LENGTH)}`;
    expect(await outcome(token)).toBe("UNAUTHORIZED");
  });

  it("answers UNAUTHORIZED, never TOKEN_EXPIRED, for an expired token whose signature is wrong", async () => {
    const token = await sign({ exp: NOW_SEC - 3600 });
    const [h, p, s] = token.split(".");
    const flipped = `${s?.startsWith("A") ? "B" : "A"}${s?.slice(1)}`;
    expect(await outcome(`${h}.${p}.${flipped}`)).toBe("UNAUTHORIZED");
  });

  it("refuses every token when no key set is configured", async () => {
    const none = parseAuthConfig({ ...env, JWKS: "" }, "development");
    await expect(verifyToken(await sign({}), none, NOW)).rejects.toMatchObject({ code: "UNAUTHORIZED" });
  });
});

describe("mapJoseError", () => {
  it("maps an expired JWT to TOKEN_EXPIRED", () => {
    expect((mapJoseError(new errors.JWTExpired("x", {})) as GatewayError).code).toBe("TOKEN_EXPIRED");
  });

  it.each([
    ["a bad signature", new errors.JWSSignatureVerificationFailed()],
    ["a failed claim", new errors.JWTClaimValidationFailed("x", {})],
    ["an invalid JWT", new errors.JWTInvalid("x")],
    ["a disallowed algorithm", new errors.JOSEAlgNotAllowed("x")],
    ["no matching key", new errors.JWKSNoMatchingKey()],
    ["a malformed token", new errors.JWSInvalid("x")],
  ])("maps %s to UNAUTHORIZED", (_label, err) => {
    expect((mapJoseError(err) as GatewayError).code).toBe("UNAUTHORIZED");
  });

  it.each([
    ["a TypeError (a bug in the key resolver, a key the runtime cannot use)", new TypeError("CryptoKey does not support this operation")],
    ["a SyntaxError", new SyntaxError("Unexpected token")],
    ["a plain Error", new Error("boom")],
    ["an error that only looks like jose's (a code, not a jose error)", Object.assign(new Error("x"), { code: "ERR_JWT_EXPIRED" })],
    ["a thrown non-error", "boom"],
  ])("leaves %s as it is: an exception, not a 401", (_label, err) => {
    expect(mapJoseError(err)).toBe(err);
  });
});

describe("parseAuthConfig", () => {
  function fieldOf(vars: Record<string, unknown>, environment = "development"): string {
    try {
      parseAuthConfig(vars, environment);
    } catch (err) {
      if (err instanceof ConfigError) return err.field;
      throw err;
    }
    throw new Error("expected a ConfigError");
  }

  it("defaults to an asymmetric allow-list with a 30 s tolerance", () => {
    const parsed = parseAuthConfig({}, "production");
    expect(parsed.algorithms).toEqual(["RS256", "ES256", "EdDSA"]);
    expect(parsed.clockToleranceSec).toBe(30);
  });

  it.each(["HS256", "none", "ES256,HS512", "RS256,None"])("refuses JWT_ALGORITHMS=%s", (algorithms) => {
    expect(fieldOf({ JWT_ALGORITHMS: algorithms })).toBe("JWT_ALGORITHMS");
  });

  it("refuses a static JWKS outside development", () => {
    expect(fieldOf({ JWKS: env.JWKS }, "production")).toBe("JWKS");
  });

  it("refuses a static JWKS that holds a private key", () => {
    expect(fieldOf({ JWKS: JSON.stringify({ keys: [devKey] }) })).toBe("JWKS");
  });

  it("refuses a plain-http JWKS_URL outside development", () => {
    expect(fieldOf({ JWKS_URL: "http://idp.example/jwks" }, "production")).toBe("JWKS_URL");
  });

  it("reads the JWKS fetch deadline and stale bound, with defaults of 3 s and 1 h", () => {
    expect(parseAuthConfig({ JWKS_URL: "https://idp.example/jwks" }, "production").jwks).toEqual({ kind: "remote", url: "https://idp.example/jwks", timeoutMs: 3000, maxStaleMs: 3_600_000 });
    const tuned = parseAuthConfig({ JWKS_URL: "https://idp.example/jwks", JWKS_TIMEOUT_MS: "250", JWKS_MAX_STALE_SECONDS: "7200" }, "production");
    expect(tuned.jwks).toMatchObject({ timeoutMs: 250, maxStaleMs: 7_200_000 });
  });

  it.each([
    ["JWKS_TIMEOUT_MS", "0"],
    ["JWKS_TIMEOUT_MS", "60001"],
    ["JWKS_TIMEOUT_MS", "soon"],
    ["JWKS_MAX_STALE_SECONDS", "599"],
    ["JWKS_MAX_STALE_SECONDS", "604801"],
  ])("refuses %s=%s", (name, value) => {
    expect(fieldOf({ JWKS_URL: "https://idp.example/jwks", [name]: value }, "production")).toBe(name);
  });

  it("refuses JWKS and JWKS_URL together", () => {
    expect(fieldOf({ JWKS: env.JWKS, JWKS_URL: "https://idp.example/jwks" })).toBe("JWKS");
  });

  it("refuses an admin secret shorter than 16 characters and treats an empty one as none", () => {
    expect(fieldOf({ ADMIN_SECRET: "short" })).toBe("ADMIN_SECRET");
    expect(parseAuthConfig({ ADMIN_SECRET: "" }, "development").adminSecret).toBeNull();
  });
});

describe("verifyToken: tokens verified before, answered from the isolate's memory", () => {
  const at = (sec: number) => new Date((NOW_SEC + sec) * 1000);

  it("refuses a remembered token with TOKEN_EXPIRED once its exp is past the tolerance, as a first verification would", async () => {
    const token = await sign({ exp: NOW_SEC + 10 });
    expect(await outcome(token, at(0))).toBe("user");
    expect(await outcome(token, at(39))).toBe("user");
    expect(await outcome(token, at(40))).toBe("TOKEN_EXPIRED");
  });

  it("refuses a remembered token once it is older than the maximum token age", async () => {
    const token = await sign({ iat: NOW_SEC - 86_400 - 25, exp: NOW_SEC + 600 });
    expect(await outcome(token, at(0))).toBe("user");
    expect(await outcome(token, at(5))).toBe("user");
    expect(await outcome(token, at(6))).toBe("TOKEN_EXPIRED");
  });

  it("refuses a remembered token at a moment before its nbf (a clock read earlier), as a first verification would", async () => {
    const token = await sign({ nbf: NOW_SEC + 20 });
    expect(await outcome(token, at(0))).toBe("user");
    expect(await outcome(token, at(-11))).toBe("UNAUTHORIZED");
  });

  it("remembers per configuration: a token verified for one audience is not accepted where another is configured", async () => {
    const token = await sign({});
    expect(await outcome(token, at(0))).toBe("user");
    const other: AuthConfig = { ...config, sessionAudience: "https://elsewhere.example", portalAudience: "https://portal.elsewhere.example" };
    await expect(verifyToken(token, other, at(1))).rejects.toMatchObject({ code: "UNAUTHORIZED" });
  });

  it("gives every request the same principal, which no request can change for the next", async () => {
    const token = await sign({ perms: ["psa:tickets.read"] });
    const first = await verifyToken(token, config, at(0));
    const second = await verifyToken(token, config, at(1));
    expect(second).toEqual(first);
    expect(() => (first as unknown as { permissions: string[] }).permissions.push("psa:*")).toThrow(TypeError);
  });
});

describe("verified tokens: how long the memory lasts", () => {
  const principal = { type: "user" as const, tenantId: "t1", userId: "usr_1", permissions: [] };

  it("forgets a token a minute after its verification, so a key withdrawn from the key set stops verifying within that minute", () => {
    const t0 = NOW_SEC * 1000;
    rememberToken(config, "tok-a", principal, { iat: NOW_SEC, exp: NOW_SEC + 3600 }, t0);
    expect(knownToken(config, "tok-a", t0 + 59_999)).toBe(principal);
    expect(knownToken(config, "tok-a", t0 + 60_000)).toBeUndefined();
  });

  it("never answers a token it was not given", () => {
    expect(knownToken(config, "tok-never-verified", NOW_SEC * 1000)).toBeUndefined();
  });
});

describe("verified tokens: bounded", () => {
  it("keeps at most 4 MiB of token text: the oldest are dropped first", () => {
    const own: AuthConfig = { ...config };
    const principal = { type: "portal" as const, tenantId: "t1", subject: "s", customerId: "c" };
    const t0 = NOW_SEC * 1000;
    const big = (i: number) => `${i}.`.padEnd(8 * 1024, "x");
    for (let i = 0; i < 600; i++) rememberToken(own, big(i), principal, { iat: NOW_SEC, exp: NOW_SEC + 3600 }, t0);
    expect(knownToken(own, big(599), t0)).toBe(principal);
    expect(knownToken(own, big(88), t0)).toBe(principal); // 512 of 8 KiB fit: 88..599
    expect(knownToken(own, big(87), t0)).toBeUndefined();
    expect(knownToken(own, big(0), t0)).toBeUndefined();
  });

  it("keeps at most 10,000 tokens: the oldest are dropped first", () => {
    const own: AuthConfig = { ...config };
    const principal = { type: "portal" as const, tenantId: "t1", subject: "s", customerId: "c" };
    const t0 = NOW_SEC * 1000;
    for (let i = 0; i < 10_001; i++) rememberToken(own, `tok-${i}`, principal, { iat: NOW_SEC, exp: NOW_SEC + 3600 }, t0);
    expect(knownToken(own, "tok-0", t0)).toBeUndefined();
    expect(knownToken(own, "tok-1", t0)).toBe(principal);
    expect(knownToken(own, "tok-10000", t0)).toBe(principal);
  });

  it("a token verified again is remembered anew, for another minute", () => {
    const own: AuthConfig = { ...config };
    const principal = { type: "portal" as const, tenantId: "t1", subject: "s", customerId: "c" };
    const t0 = NOW_SEC * 1000;
    rememberToken(own, "tok-again", principal, { iat: NOW_SEC, exp: NOW_SEC + 3600 }, t0);
    rememberToken(own, "tok-again", principal, { iat: NOW_SEC, exp: NOW_SEC + 3600 }, t0 + 61_000);
    expect(knownToken(own, "tok-again", t0 + 100_000)).toBe(principal);
  });
});
