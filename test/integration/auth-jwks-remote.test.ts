/**
 * A remote JWKS (`JWKS_URL`) served by the test JWKS host: one fetch per key set, a refetch on an unknown
 * `kid` at most once per cooldown, the warm key set kept through an outage of the endpoint, and 503 only
 * when no key set was ever loaded. Each test has its own key set URL, so its own module-scope cache entry.
 * Time is moved with a fake clock (Date only), never waited for; the hanging endpoint's fetch deadline is
 * injected (`JWKS_TIMEOUT_MS`) small, so no test waits for it.
 */
import { env } from "cloudflare:workers";
import { createExecutionContext, waitOnExecutionContext } from "cloudflare:test";
import { base64url, exportJWK, generateKeyPair, SignJWT, type JWK } from "jose";
import { afterEach, describe, expect, it, vi } from "vitest";
import worker from "../../src/index";
import { answeredAfter } from "../support/deadline";
import { recorded, rid, tenant } from "../support/gateway";

const COOLDOWN_MS = 30_000;
const CACHE_MAX_AGE_MS = 10 * 60_000;
const MAX_STALE_MS = 3600_000;
/** The injected JWKS fetch deadline: long enough for loopback, short enough that no test waits. */
const TIMEOUT_MS = "200";
type Mode = "ok" | "fail" | "hang" | "reset" | "garbage";

async function signingKey(kid: string) {
  const { privateKey, publicKey } = await generateKeyPair("ES256", { extractable: true });
  return { privateKey, kid, jwk: { ...(await exportJWK(publicKey)), kid, alg: "ES256", use: "sig" } as JWK };
}

/** A key set of its own on the JWKS host, a gateway env trusting it, and helpers to drive both. */
async function remoteKeySet(vars: Record<string, string> = {}) {
  const id = `remote-${crypto.randomUUID()}`;
  const origin = env.TEST_JWKS_ORIGIN;
  const gatewayEnv = { ...env, JWKS: "", JWKS_URL: `${origin}/jwks/${id}`, JWKS_TIMEOUT_MS: TIMEOUT_MS, ...vars };
  const t = tenant();
  const control = async (body: { jwks?: { keys: JWK[] }; mode?: Mode }) => {
    const res = await fetch(`${origin}/__control/${id}`, { method: "PUT", body: JSON.stringify(body) });
    expect(res.status).toBe(200);
  };
  return {
    control,
    /** How many times the gateway fetched this key set. */
    hits: async () => ((await (await fetch(`${origin}/__hits/${id}`)).json()) as { hits: number }).hits,
    /** A session token signed with `key`, valid at the (possibly fake) current time. */
    token: (key: { privateKey: CryptoKey; kid: string }) => {
      const now = Math.floor(Date.now() / 1000);
      return new SignJWT({ iss: env.JWT_ISSUER, aud: env.JWT_SESSION_AUDIENCE, token_use: "session", sub: "usr_1", tid: t, perms: ["psa:*"] })
        .setProtectedHeader({ alg: "ES256", kid: key.kid, typ: "JWT" })
        .setIssuedAt(now)
        .setExpirationTime(now + 600)
        .sign(key.privateKey);
    },
    /** Sends a bearer token through the Worker under this env; reports status, code and what PSA received. */
    send: async (token: string) => {
      const id = rid("jwks");
      const ctx = createExecutionContext();
      const res = await worker.fetch(new Request("https://gateway.test/psa/tickets", { headers: { authorization: `Bearer ${token}`, "x-request-id": id } }), gatewayEnv, ctx);
      await waitOnExecutionContext(ctx);
      const body = res.ok ? null : ((await res.json()) as { code: string });
      return { status: res.status, code: body?.code ?? null, retryAfter: res.headers.get("retry-after"), forwarded: await recorded("psa", id) };
    },
  };
}

/** Freezes Date at the real current time; `advance` moves it. Timers stay real. */
function fakeClock() {
  let now = Date.now();
  vi.useFakeTimers({ toFake: ["Date"], now });
  return {
    advance: (ms: number) => {
      now += ms;
      vi.setSystemTime(now);
    },
  };
}

/** A fake clock and a key set `a` the gateway has loaded once (one fetch), served by the endpoint. */
async function warmKeySet(vars: Record<string, string> = {}) {
  const clock = fakeClock();
  const remote = await remoteKeySet(vars);
  const a = await signingKey("a");
  await remote.control({ jwks: { keys: [a.jwk] } });
  expect((await remote.send(await remote.token(a))).status).toBe(200);
  return { clock, remote, a };
}

afterEach(() => {
  vi.useRealTimers();
});

describe("remote JWKS: caching", () => {
  it("fetches the key set once and verifies later tokens from the cache", async () => {
    const remote = await remoteKeySet();
    const a = await signingKey("a");
    await remote.control({ jwks: { keys: [a.jwk] } });
    for (let i = 0; i < 3; i++) expect((await remote.send(await remote.token(a))).status).toBe(200);
    expect(await remote.hits()).toBe(1);
  });

  it("refetches for an unknown kid only after the cooldown, then accepts the rotated key", async () => {
    const clock = fakeClock();
    const remote = await remoteKeySet();
    const a = await signingKey("a");
    const b = await signingKey("b");
    await remote.control({ jwks: { keys: [a.jwk] } });
    expect((await remote.send(await remote.token(a))).status).toBe(200);
    await remote.control({ jwks: { keys: [a.jwk, b.jwk] } });
    clock.advance(COOLDOWN_MS - 1000);
    expect(await remote.send(await remote.token(b))).toMatchObject({ status: 401, code: "UNAUTHORIZED" });
    expect(await remote.hits()).toBe(1);
    clock.advance(2000);
    expect((await remote.send(await remote.token(b))).status).toBe(200);
    expect(await remote.hits()).toBe(2);
  });

  it("lets a burst of unknown kids cost at most one fetch per cooldown", async () => {
    const { clock, remote } = await warmKeySet();
    for (let round = 0; round < 2; round++) {
      clock.advance(COOLDOWN_MS + 1000);
      for (let i = 0; i < 5; i++) {
        const stranger = await signingKey(`../../kid-${round}-${i}`);
        expect(await remote.send(await remote.token(stranger))).toMatchObject({ status: 401, code: "UNAUTHORIZED" });
      }
      expect(await remote.hits()).toBe(2 + round);
    }
  });

  it("refuses a token whose kid is in the set but which another key signed", async () => {
    const remote = await remoteKeySet();
    const a = await signingKey("a");
    const impostor = await signingKey("a");
    await remote.control({ jwks: { keys: [a.jwk] } });
    const result = await remote.send(await remote.token(impostor));
    expect(result).toMatchObject({ status: 401, code: "UNAUTHORIZED" });
    expect(result.forwarded).toEqual([]);
  });
});

describe("remote JWKS: endpoint outage with a warm key set", () => {
  it.each(["fail", "reset", "garbage"] as const)(
    "keeps verifying from the last key set when the endpoint answers %s, and retries once per cooldown",
    async (mode) => {
      const { clock, remote, a } = await warmKeySet();
      await remote.control({ mode });
      // The cache is now stale, so the gateway must try the endpoint, which fails.
      clock.advance(CACHE_MAX_AGE_MS + 1000);
      expect((await remote.send(await remote.token(a))).status).toBe(200);
      expect(await remote.hits()).toBe(2);
      // Within the cooldown the failing endpoint is left alone.
      expect((await remote.send(await remote.token(a))).status).toBe(200);
      expect(await remote.hits()).toBe(2);
      clock.advance(COOLDOWN_MS + 1000);
      expect((await remote.send(await remote.token(a))).status).toBe(200);
      expect(await remote.hits()).toBe(3);
      // Unknown kids are still refused during the outage.
      expect((await remote.send(await remote.token(await signingKey("new"))))).toMatchObject({ status: 401, code: "UNAUTHORIZED" });
    },
  );

  it("keeps verifying when the endpoint hangs, paying its timeout once per cooldown, not on every request", async () => {
    const { clock, remote, a } = await warmKeySet();
    await remote.control({ mode: "hang" });
    clock.advance(CACHE_MAX_AGE_MS + 1000);
    expect((await remote.send(await remote.token(a))).status).toBe(200);
    expect(await remote.hits()).toBe(2);
    expect((await remote.send(await remote.token(a))).status).toBe(200);
    expect(await remote.hits()).toBe(2);
  });

  it("trusts a stale key set for at most JWKS_MAX_STALE_SECONDS (default 1 h) after its last load, then answers 503", async () => {
    const { clock, remote, a } = await warmKeySet();
    await remote.control({ mode: "fail" });
    clock.advance(MAX_STALE_MS - 1000);
    expect((await remote.send(await remote.token(a))).status).toBe(200);
    clock.advance(COOLDOWN_MS + 1000);
    const result = await remote.send(await remote.token(a));
    expect(result).toMatchObject({ status: 503, code: "SERVICE_UNAVAILABLE", retryAfter: String(COOLDOWN_MS / 1000) });
    expect(result.forwarded).toEqual([]);
  });

  it("takes the stale bound from JWKS_MAX_STALE_SECONDS", async () => {
    const { clock, remote, a } = await warmKeySet({ JWKS_MAX_STALE_SECONDS: "900" });
    await remote.control({ mode: "fail" });
    clock.advance(CACHE_MAX_AGE_MS + 1000);
    expect((await remote.send(await remote.token(a))).status).toBe(200);
    clock.advance(900_000 - CACHE_MAX_AGE_MS);
    expect(await remote.send(await remote.token(a))).toMatchObject({ status: 503, code: "SERVICE_UNAVAILABLE" });
  });

  it("stops accepting a key the provider withdrew once the cached set is refreshed", async () => {
    const { clock, remote, a } = await warmKeySet();
    const b = await signingKey("b");
    await remote.control({ jwks: { keys: [b.jwk] } });
    clock.advance(CACHE_MAX_AGE_MS + 1000);
    expect(await remote.send(await remote.token(a))).toMatchObject({ status: 401, code: "UNAUTHORIZED" });
    expect((await remote.send(await remote.token(b))).status).toBe(200);
  });

  it("counts a key set as loaded even when the request that loaded it carried an unknown kid", async () => {
    const clock = fakeClock();
    const remote = await remoteKeySet();
    const a = await signingKey("a");
    await remote.control({ jwks: { keys: [a.jwk] } });
    expect((await remote.send(await remote.token(await signingKey("unknown")))).status).toBe(401);
    expect(await remote.hits()).toBe(1);
    await remote.control({ mode: "fail" });
    clock.advance(CACHE_MAX_AGE_MS + 1000);
    expect((await remote.send(await remote.token(a))).status).toBe(200);
  });

  it("picks up a recovered endpoint's new keys after the outage", async () => {
    const { clock, remote, a } = await warmKeySet();
    const b = await signingKey("b");
    await remote.control({ mode: "fail" });
    clock.advance(CACHE_MAX_AGE_MS + 1000);
    expect((await remote.send(await remote.token(a))).status).toBe(200);
    await remote.control({ mode: "ok", jwks: { keys: [b.jwk] } });
    clock.advance(COOLDOWN_MS + 1000);
    expect((await remote.send(await remote.token(b))).status).toBe(200);
  });
});

describe("remote JWKS: never loaded", () => {
  it.each(["fail", "reset", "garbage"] as const)("answers 503 SERVICE_UNAVAILABLE when the endpoint answers %s, and forwards nothing", async (mode) => {
    const remote = await remoteKeySet();
    const a = await signingKey("a");
    await remote.control({ jwks: { keys: [a.jwk] }, mode });
    const result = await remote.send(await remote.token(a));
    expect(result).toMatchObject({ status: 503, code: "SERVICE_UNAVAILABLE" });
    expect(result.forwarded).toEqual([]);
  });

  it("answers 503 when the key set URL is not found", async () => {
    const remote = await remoteKeySet();
    expect(await remote.send(await remote.token(await signingKey("a")))).toMatchObject({ status: 503, code: "SERVICE_UNAVAILABLE" });
  });

  it("answers 503 when the endpoint hangs, at the JWKS_TIMEOUT_MS deadline, not the 3 s default", async () => {
    const remote = await remoteKeySet();
    const a = await signingKey("a");
    await remote.control({ jwks: { keys: [a.jwk] }, mode: "hang" });
    const token = await remote.token(a);
    // Held by the hanging endpoint until the JWKS_TIMEOUT_MS timer fires (by hand: no wall clock).
    // Held once the endpoint has the gateway's fetch (its deadline timer is set just before).
    expect(await answeredAfter([Number(TIMEOUT_MS)], () => remote.send(token), async () => (await remote.hits()) > 0)).toMatchObject({ status: 503, code: "SERVICE_UNAVAILABLE" });
  });

  it.each(["fail", "hang"] as const)(
    "after a cold failure (%s), answers 503 with Retry-After at once for the cooldown, without fetching again",
    async (mode) => {
      const clock = fakeClock();
      const remote = await remoteKeySet();
      const a = await signingKey("a");
      await remote.control({ jwks: { keys: [a.jwk] }, mode });
      expect(await remote.send(await remote.token(a))).toMatchObject({ status: 503, code: "SERVICE_UNAVAILABLE", retryAfter: "30" });
      expect(await remote.hits()).toBe(1);
      clock.advance(10_000);
      for (let i = 0; i < 3; i++) {
        expect(await remote.send(await remote.token(a))).toMatchObject({ status: 503, code: "SERVICE_UNAVAILABLE", retryAfter: "20" });
      }
      expect(await remote.hits()).toBe(1);
      clock.advance(COOLDOWN_MS);
      expect((await remote.send(await remote.token(a))).status).toBe(503);
      expect(await remote.hits()).toBe(2);
    },
  );

  it("recovers on the first request after the cooldown once the endpoint is back", async () => {
    const clock = fakeClock();
    const remote = await remoteKeySet();
    const a = await signingKey("a");
    await remote.control({ jwks: { keys: [a.jwk] }, mode: "fail" });
    expect((await remote.send(await remote.token(a))).status).toBe(503);
    await remote.control({ mode: "ok" });
    clock.advance(COOLDOWN_MS + 1000);
    expect((await remote.send(await remote.token(a))).status).toBe(200);
  });

  it("still answers a token that fails before any key is needed with 401, and fetches nothing", async () => {
    const remote = await remoteKeySet();
    await remote.control({ mode: "fail" });
    const now = Math.floor(Date.now() / 1000);
    const claims = base64url.encode(JSON.stringify({ iss: env.JWT_ISSUER, aud: env.JWT_SESSION_AUDIENCE, tid: "t", sub: "s", iat: now, exp: now + 60 }));
    const hs256 = await new SignJWT({}).setProtectedHeader({ alg: "HS256", kid: "a" }).sign(new Uint8Array(32));
    for (const token of [`${base64url.encode('{"alg":"none"}')}.${claims}.`, "not.a.jwt", hs256, "x".repeat(9000)]) {
      expect(await remote.send(token)).toMatchObject({ status: 401, code: "UNAUTHORIZED" });
    }
    expect(await remote.hits()).toBe(0);
  });
});
