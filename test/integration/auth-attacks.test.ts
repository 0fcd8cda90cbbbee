/**
 * The classic JWT attacks, each sent through the whole pipeline against the trusted development key set:
 * every one is answered 401 (never 500, never a pass), and nothing reaches a product. Where an attack
 * names one check (a hostile `kid`, an algorithm outside the allow-list, an embedded key header), the token
 * is signed by the trusted key, so that check is the only one that can refuse it.
 */
import { env } from "cloudflare:workers";
import { base64url, exportJWK, exportSPKI, generateKeyPair, importJWK, SignJWT, type JWK, type JWTPayload } from "jose";
import { describe, expect, it } from "vitest";
import devKey from "../../dev/keys/dev-signing-key.private.jwk.json";
import { MAX_TOKEN_LENGTH } from "../../src/auth/jwt";
import { call, envelope, recorded, rid, sessionToken, tenant } from "../support/gateway";
import { callWith, envWith } from "../support/worker";

const DEV_KID = devKey.kid;
const devPublic = (JSON.parse(env.JWKS ?? "") as { keys: JWK[] }).keys[0] as JWK;
const text = new TextEncoder();

const b64 = (value: unknown) => base64url.encode(typeof value === "string" ? value : JSON.stringify(value));

/** Claims that would be accepted if the signature were good. */
function claims(t: string, extra: JWTPayload = {}): JWTPayload {
  const now = Math.floor(Date.now() / 1000);
  return { iss: env.JWT_ISSUER, aud: env.JWT_SESSION_AUDIENCE, token_use: "session", sub: "usr_attacker", tid: t, perms: ["*"], iat: now, exp: now + 600, ...extra };
}

/** Signs claims with any key and algorithm the attacker likes. */
async function signWith(key: CryptoKey | Uint8Array, alg: string, header: Record<string, unknown>, payload: JWTPayload): Promise<string> {
  return new SignJWT(payload).setProtectedHeader({ alg, typ: "JWT", ...header }).sign(key);
}

/** Sends the token as a bearer (to the test Worker, or one with `customEnv`); expects 401 and nothing forwarded. */
async function expectRefused(token: string, code = "UNAUTHORIZED", customEnv?: Env): Promise<void> {
  const id = rid("atk");
  const init = { headers: { authorization: `Bearer ${token}`, "x-request-id": id } };
  const res = customEnv === undefined ? await call("/psa/tickets", init) : await callWith(customEnv, "/psa/tickets", init);
  expect(res.status).toBe(401);
  expect((await envelope(res)).code).toBe(code);
  expect(await recorded("psa", id)).toEqual([]);
}

/** Signs with the trusted development key; `expectAccepted` first proves the same signing passes without the attack. */
async function signTrusted(header: Record<string, unknown>, payload: JWTPayload): Promise<string> {
  return signWith(await importJWK(devKey, "ES256"), "ES256", header, payload);
}

async function expectAccepted(token: string): Promise<void> {
  const res = await call("/psa/tickets", { headers: { authorization: `Bearer ${token}` } });
  expect(res.status).toBe(200);
}

/** Configures a key set on the test JWKS host; returns its URL and a reader for its hit counter. */
async function hostedKeySet(jwks: { keys: JWK[] }) {
  const id = `atk-${crypto.randomUUID()}`;
  const res = await fetch(`${env.TEST_JWKS_ORIGIN}/__control/${id}`, { method: "PUT", body: JSON.stringify({ jwks }) });
  expect(res.status).toBe(200);
  return {
    url: `${env.TEST_JWKS_ORIGIN}/jwks/${id}`,
    hits: async () => ((await (await fetch(`${env.TEST_JWKS_ORIGIN}/__hits/${id}`)).json()) as { hits: number }).hits,
  };
}

describe("attack: alg none", () => {
  it.each(["none", "None", "NONE", "nOnE"])("refuses alg %s, unsigned", async (alg) => {
    const t = tenant();
    await expectRefused(`${b64({ alg, typ: "JWT" })}.${b64(claims(t))}.`);
    await expectRefused(`${b64({ alg, kid: DEV_KID })}.${b64(claims(t))}.`);
    await expectRefused(`${b64({ alg })}.${b64(claims(t))}`);
  });

  it("refuses alg none even when it carries a genuine signature", async () => {
    const valid = await sessionToken(tenant(), ["*"]);
    const [, payload, signature] = valid.split(".");
    await expectRefused(`${b64({ alg: "none", kid: DEV_KID })}.${payload}.${signature}`);
  });
});

describe("attack: stripped or tampered tokens", () => {
  it("refuses a genuine token with its signature stripped", async () => {
    const [header, payload] = (await sessionToken(tenant(), ["*"])).split(".");
    await expectRefused(`${header}.${payload}.`);
    await expectRefused(`${header}.${payload}`);
  });

  it("refuses a genuine token whose payload was changed to another tenant or more permissions", async () => {
    const t = tenant();
    const [header, , signature] = (await sessionToken(t, ["psa:tickets.read"])).split(".");
    await expectRefused(`${header}.${b64(claims(tenant("victim")))}.${signature}`);
    await expectRefused(`${header}.${b64(claims(t, { perms: ["*"] }))}.${signature}`);
  });

  it("refuses a genuine token whose header was changed", async () => {
    const [, payload, signature] = (await sessionToken(tenant(), ["*"])).split(".");
    await expectRefused(`${b64({ alg: "ES256", kid: DEV_KID, typ: "at+jwt" })}.${payload}.${signature}`);
  });

  it("refuses a token signed by the trusted key but without exp", async () => {
    const key = await importJWK(devKey, "ES256");
    await expectRefused(await signWith(key, "ES256", { kid: DEV_KID }, claims(tenant(), { exp: undefined })));
  });

  it("refuses a token signed by the trusted key with a critical extension it does not understand", async () => {
    // jose will not sign this, so sign the bytes directly: ES256 is raw r||s over `header.payload`.
    const key = (await importJWK(devKey, "ES256")) as CryptoKey;
    const t = tenant();
    const signRaw = async (header: Record<string, unknown>) => {
      const input = `${b64(header)}.${b64(claims(t))}`;
      const signature = await crypto.subtle.sign({ name: "ECDSA", hash: "SHA-256" }, key, text.encode(input));
      return `${input}.${base64url.encode(new Uint8Array(signature))}`;
    };
    // The same signing without the extension is accepted, so the refusal is the extension's.
    const control = await call("/psa/tickets", { headers: { authorization: `Bearer ${await signRaw({ alg: "ES256", kid: DEV_KID })}` } });
    expect(control.status).toBe(200);
    await expectRefused(await signRaw({ alg: "ES256", kid: DEV_KID, crit: ["x-evil"], "x-evil": true }));
  });
});

describe("attack: algorithm confusion", () => {
  async function publicKeyMaterial(): Promise<Array<[string, Uint8Array]>> {
    const spkiPem = await exportSPKI((await importJWK(devPublic, "ES256")) as CryptoKey);
    const der = Uint8Array.from(atob(spkiPem.replace(/-----[^-]+-----|\s/g, "")), (c) => c.charCodeAt(0));
    const x = base64url.decode(devPublic.x ?? "");
    const y = base64url.decode(devPublic.y ?? "");
    return [
      ["the JWK x coordinate", x],
      ["the JWK y coordinate", y],
      ["the raw public point", Uint8Array.from([4, ...x, ...y])],
      ["the JWK as JSON", text.encode(JSON.stringify(devPublic))],
      ["the JWK Set as configured", text.encode(env.JWKS ?? "")],
      ["the SPKI PEM", text.encode(spkiPem)],
      ["the SPKI PEM without its final newline", text.encode(spkiPem.trimEnd())],
      ["the SPKI DER", der],
    ];
  }

  it.each(["HS256", "HS384", "HS512"])("refuses %s signed with any encoding of the trusted public key", async (alg) => {
    const t = tenant();
    for (const [, secret] of await publicKeyMaterial()) {
      await expectRefused(await signWith(secret, alg, { kid: DEV_KID }, claims(t)));
      await expectRefused(await signWith(secret, alg, {}, claims(t)));
    }
  });

  it.each(["RS256", "EdDSA", "RS256,EdDSA"])(
    "refuses a genuine ES256 token from the trusted key when JWT_ALGORITHMS is %s",
    async (algorithms) => {
      const token = await signTrusted({ kid: DEV_KID }, claims(tenant()));
      await expectAccepted(token);
      await expectRefused(token, "UNAUTHORIZED", envWith({ JWT_ALGORITHMS: algorithms }));
    },
  );

  describe("a trusted RSA key whose JWK names no alg (so the key set itself allows every RSA algorithm)", () => {
    const rsa = (async () => {
      const { privateKey, publicKey } = await generateKeyPair("RS256", { extractable: true });
      const { alg: _privateAlg, ...privateJwk } = await exportJWK(privateKey);
      const { alg: _publicAlg, ...publicJwk } = await exportJWK(publicKey);
      // The default allow-list (RS256, ES256, EdDSA): only it stands between these tokens and a pass.
      return { privateJwk, gateway: envWith({ JWKS: JSON.stringify({ keys: [{ ...publicJwk, kid: "trusted-rsa", use: "sig" }] }) }) };
    })();
    const signRsa = async (alg: string, t: string) => {
      const { privateJwk } = await rsa;
      return signWith(await importJWK(privateJwk, alg), alg, { kid: "trusted-rsa" }, claims(t));
    };

    it("accepts RS256, which the allow-list names", async () => {
      const { gateway } = await rsa;
      const res = await callWith(gateway, "/psa/tickets", { headers: { authorization: `Bearer ${await signRsa("RS256", tenant())}` } });
      expect(res.status).toBe(200);
    });

    it.each(["RS384", "RS512", "PS256", "PS384", "PS512"])("refuses %s, outside the allow-list, signed by that same trusted key", async (alg) => {
      await expectRefused(await signRsa(alg, tenant()), "UNAUTHORIZED", (await rsa).gateway);
    });
  });

  it.each(["RS256", "EdDSA", "ES256"])("refuses allowed %s signed by an attacker's key whose kid matches", async (alg) => {
    const { privateKey } = await generateKeyPair(alg);
    await expectRefused(await signWith(privateKey, alg, { kid: DEV_KID }, claims(tenant())));
  });
});

describe("attack: keys named in the token", () => {
  async function attackerJwk(): Promise<JWK> {
    const { publicKey } = await generateKeyPair("ES256", { extractable: true });
    return { ...(await exportJWK(publicKey)), kid: "attacker-1", alg: "ES256", use: "sig" };
  }

  it("refuses a token signed by the trusted key that embeds a jwk header (its own key or another)", async () => {
    const t = tenant();
    await expectAccepted(await signTrusted({ kid: DEV_KID }, claims(t)));
    await expectRefused(await signTrusted({ kid: DEV_KID, jwk: await attackerJwk() }, claims(t)));
    await expectRefused(await signTrusted({ kid: DEV_KID, jwk: { ...devPublic } }, claims(t)));
  });

  it.each(["jku", "x5u"])("refuses a token signed by the trusted key that names a %s URL, and never fetches it", async (param) => {
    const hosted = await hostedKeySet({ keys: [await attackerJwk()] });
    const t = tenant();
    await expectAccepted(await signTrusted({ kid: DEV_KID }, claims(t)));
    await expectRefused(await signTrusted({ kid: DEV_KID, [param]: hosted.url }, claims(t)));
    expect(await hosted.hits()).toBe(0);
  });

  it("refuses a token signed by the trusted key that carries an x5c certificate chain", async () => {
    const t = tenant();
    await expectAccepted(await signTrusted({ kid: DEV_KID }, claims(t)));
    await expectRefused(await signTrusted({ kid: DEV_KID, x5c: ["MIIBfake"] }, claims(t)));
  });
});

describe("attack: hostile kid values", () => {
  it.each([
    ["path traversal", "../../../../../../etc/passwd"],
    ["an absolute URL", "https://evil.example/jwks.json"],
    ["SQL", "' OR '1'='1' --"],
    ["shell", "$(curl evil.example)"],
    ["a NUL byte", "onestack-dev-1\u0000"],
    ["a header break", "x\r\nX-OneStack-Tenant-Id: victim"],
    ["4 KB of junk", "k".repeat(4 * 1024)],
    ["a number", 1],
    ["an object", { $ne: null }],
    ["a list", [DEV_KID]],
  ])("refuses a token signed by the trusted key whose kid is %s", async (_label, kid) => {
    const t = tenant();
    await expectAccepted(await signTrusted({ kid: DEV_KID }, claims(t)));
    await expectRefused(await signTrusted({ kid }, claims(t)));
  });

  it("refuses a token signed by the trusted key whose kid is not the trusted kid", async () => {
    await expectRefused(await signTrusted({ kid: `${DEV_KID}/../${DEV_KID}` }, claims(tenant())));
  });
});

describe("attack: malformed and oversized tokens", () => {
  it.each([
    ["one segment", "abc"],
    ["three empty segments", ".."],
    ["junk segments", "a.b.c"],
    ["five segments (JWE shape)", "a.b.c.d.e"],
    ["a header that is not JSON", `${b64("not json")}.${b64({})}.c2ln`],
    ["a header that is a JSON list", `${b64([])}.${b64({})}.c2ln`],
    ["a header that is JSON null", `${b64("null")}.${b64({})}.c2ln`],
    ["a payload that is a JSON list", `${b64({ alg: "ES256", kid: DEV_KID })}.${b64([])}.c2ln`],
    ["a payload that is a number", `${b64({ alg: "ES256", kid: DEV_KID })}.${b64("42")}.c2ln`],
    ["invalid base64url", "e$$$.e$$$.e$$$"],
    ["standard base64 padding", `${b64({ alg: "ES256" })}==.${b64({})}==.c2ln==`],
    ["a URL-encoded token", "eyJhbGciOiJFUzI1NiJ9%2EeyJ9%2Ec2ln"],
  ])("refuses a token with %s", async (_label, token) => {
    await expectRefused(token);
  });

  it("refuses a genuine token with a character outside base64url appended", async () => {
    await expectRefused(`${await sessionToken(tenant(), ["*"])}~`);
  });

  it("accepts a genuine token just under 8 KiB and refuses one just over, before verifying it", async () => {
    const t = tenant();
    const tokenOfLength = async (target: number) => {
      const probe = await sessionToken(t, ["*"], { pad: "" });
      // Base64url: 3 bytes of padding claim become 4 characters of token.
      const pad = "p".repeat(Math.floor(((target - probe.length) * 3) / 4));
      return sessionToken(t, ["*"], { pad });
    };
    const under = await tokenOfLength(MAX_TOKEN_LENGTH - 8);
    const over = await tokenOfLength(MAX_TOKEN_LENGTH + 8);
    expect(under.length).toBeLessThanOrEqual(MAX_TOKEN_LENGTH);
    expect(over.length).toBeGreaterThan(MAX_TOKEN_LENGTH);
    const id = rid("atk");
    const res = await call("/psa/tickets", { headers: { authorization: `Bearer ${under}`, "x-request-id": id } });
    expect(res.status).toBe(200);
    await expectRefused(over);
  });

  it("refuses a 64 KiB token", async () => {
    await expectRefused(`${await sessionToken(tenant(), ["*"])}.${"A".repeat(64 * 1024)}`);
  });
});
