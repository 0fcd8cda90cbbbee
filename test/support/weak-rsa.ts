/**
 * A key set the gateway cannot use: a 1024-bit RSA key (jose verifies RS256 only with 2048 bits or more),
 * and tokens signed with it. jose refuses to sign with such a key, so tokens are signed here with WebCrypto.
 * Verification then fails inside the key handling, not on the token: the failure class that must be an
 * exception (500, logged), not a 401 blaming the client.
 */
import type { JWTPayload } from "jose";

const b64url = (bytes: Uint8Array) => btoa(String.fromCharCode(...bytes)).replaceAll("+", "-").replaceAll("/", "_").replace(/=+$/, "");
const part = (value: unknown) => b64url(new TextEncoder().encode(JSON.stringify(value)));

/** A 1024-bit RS256 key pair, its public JWK (with `kid`) and a signer for compact tokens. */
export async function weakRsaKey(kid: string) {
  const pair = (await crypto.subtle.generateKey({ name: "RSASSA-PKCS1-v1_5", modulusLength: 1024, publicExponent: new Uint8Array([1, 0, 1]), hash: "SHA-256" }, true, ["sign", "verify"])) as CryptoKeyPair;
  const { n, e } = (await crypto.subtle.exportKey("jwk", pair.publicKey)) as JsonWebKey;
  const jwk = { kty: "RSA", n, e, kid, alg: "RS256", use: "sig" };
  async function sign(claims: JWTPayload): Promise<string> {
    const input = `${part({ alg: "RS256", kid })}.${part(claims)}`;
    const signature = await crypto.subtle.sign("RSASSA-PKCS1-v1_5", pair.privateKey, new TextEncoder().encode(input));
    return `${input}.${b64url(new Uint8Array(signature))}`;
  }
  return { jwk, sign };
}
