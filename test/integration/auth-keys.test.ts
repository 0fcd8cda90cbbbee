/**
 * Integration keys end to end: the checksum gate in front of storage, hashing at rest, one body for every
 * kind of bad key, expiry that takes effect at once, and revocation: at once in the isolate it was made
 * through, within one lease life (through the tenant's limiter) in any other, whatever KV and the isolate's
 * key cache still hold. The key and lease clocks are injected; reads of KV are counted to show the cache.
 */
import { env } from "cloudflare:workers";
import { createExecutionContext, runDurableObjectAlarm, waitOnExecutionContext } from "cloudflare:test";
import { afterEach, describe, expect, it } from "vitest";
import { generateIntegrationKey } from "../../src/auth/integration-key";
import { shardForKeyId } from "../../src/auth/key-record";
import { setKeyClock } from "../../src/auth/key-store";
import worker from "../../src/index";
import { setLeaseClock } from "../../src/ratelimit/admission";
import { ADMIN, call, createKey, envelope, recorded, rid, tenant } from "../support/gateway";
import { freshAddress, wrappedKv } from "../support/key-stores";

/** A KV binding that counts the reads the Worker makes through it, and can serve chosen stale values. */
const countingKv = (stale: Map<string, unknown> = new Map()) => wrappedKv({ stale });

/** Sends a request through the Worker entry with a custom env (its own configuration and bindings). */
async function callWith(customEnv: Env, path: string, headers: Record<string, string>): Promise<Response> {
  const ctx = createExecutionContext();
  const res = await worker.fetch(new Request(`https://gateway.test${path}`, { headers }), customEnv, ctx);
  await waitOnExecutionContext(ctx);
  return res;
}

async function sha256Hex(text: string): Promise<string> {
  const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(text));
  return [...new Uint8Array(digest)].map((b) => b.toString(16).padStart(2, "0")).join("");
}

/** A request with a key on a read route; returns the response, its body text and what PSA received. */
async function useKey(key: string) {
  const id = rid("key");
  // Each request from its own address: unknown keys count against their address's budget (auth-floods.test.ts).
  const res = await call("/psa/tickets", { headers: { "x-integration-key": key, "x-request-id": id, "cf-connecting-ip": freshAddress() } });
  const body = await res.text();
  return { res, body, forwarded: await recorded("psa", id) };
}

/** The exact body the gateway answers for a key it has never seen. */
async function unknownKeyBody(): Promise<string> {
  const { res, body } = await useKey(generateIntegrationKey());
  expect(res.status).toBe(401);
  return body;
}

/** Revokes a key through this isolate's admin API; returns a KV replica that still serves its record from before (another location's). */
async function revokeHereKeepStaleKv(t: string, key: string, keyId: string) {
  const recordName = `key:${await sha256Hex(key)}`;
  const unrevoked = await env.KEYS.get(recordName, "json");
  const revoke = await call(`/__gateway/admin/tenants/${t}/keys/${keyId}`, { method: "DELETE", headers: ADMIN });
  expect(revoke.status).toBe(200);
  return countingKv(new Map([[recordName, unrevoked]]));
}

/** Sends the key with `stores`' KV; expects the unknown-key 401, and `reads` KV reads through it in all. */
async function expectUnknownVia(stores: ReturnType<typeof countingKv>, key: string, reads: number): Promise<void> {
  const res = await callWith({ ...env, KEYS: stores.kv }, "/psa/tickets", { "x-integration-key": key });
  expect(res.status).toBe(401);
  expect(stores.counts.get).toBe(reads);
  expect(await res.text()).toBe(await unknownKeyBody());
}

afterEach(() => {
  setKeyClock(null);
  setLeaseClock(null);
});

describe("integration key: format gate", () => {
  it.each([
    ["a bad checksum", (k: string) => `${k.slice(0, -1)}${k.endsWith("A") ? "B" : "A"}`],
    ["a typo in the random part", (k: string) => `${k.slice(0, 6)}${k[6] === "z" ? "y" : "z"}${k.slice(7)}`],
    ["the wrong prefix", (k: string) => `osx_${k.slice(4)}`],
    ["no prefix", (k: string) => k.slice(4)],
    ["a truncated key", (k: string) => k.slice(0, 20)],
    ["an oversized key", (k: string) => k + "A".repeat(64 * 1024)],
    ["SQL in it", () => "osk_' OR '1'='1' --"],
    ["a path in it", () => "osk_../../../../etc/passwd"],
  ])("refuses a key with %s with 401 and no storage lookup", async (_label, mutate) => {
    const { kv, counts } = countingKv();
    const t = tenant();
    const { key } = await createKey(t, { psa: "write" });
    const res = await callWith({ ...env, KEYS: kv }, "/psa/tickets", { "x-integration-key": mutate(key) });
    expect(res.status).toBe(401);
    expect((await envelope(res)).code).toBe("UNAUTHORIZED");
    expect(counts.get).toBe(0);
  });

  it("does look up a well-formed key it has not seen, which is what the checksum saves", async () => {
    const { kv, counts } = countingKv();
    const res = await callWith({ ...env, KEYS: kv }, "/psa/tickets", { "x-integration-key": generateIntegrationKey(), "cf-connecting-ip": freshAddress() });
    expect(res.status).toBe(401);
    expect(counts.get).toBe(1);
  });
});

describe("integration key: storage", () => {
  it("stores only the SHA-256 of a key: no KV key or value contains the plaintext", async () => {
    const t = tenant();
    const { key, keyId } = await createKey(t, { psa: "write" });
    const secretPart = key.slice(4);
    const hash = await sha256Hex(key);
    const names: string[] = [];
    let cursor: string | undefined;
    do {
      const page = await env.KEYS.list(cursor !== undefined ? { cursor } : {});
      names.push(...page.keys.map((k) => k.name));
      cursor = page.list_complete ? undefined : page.cursor;
    } while (cursor !== undefined);
    expect(names).toContain(`key:${hash}`);
    for (const name of names) {
      expect(name).not.toContain(secretPart);
      const value = (await env.KEYS.get(name)) ?? "";
      expect(value).not.toContain(secretPart);
    }
    const record = await env.KEYS.get<{ keyId: string; tenantId: string }>(`key:${hash}`, "json");
    expect(record).toMatchObject({ keyId, tenantId: t });
  });
});

describe("integration key: one answer for every bad key", () => {
  it("answers a malformed key with the same bytes as an unknown key", async () => {
    const unknown = await unknownKeyBody();
    const { res, body } = await useKey("osk_not-a-key");
    expect(res.status).toBe(401);
    expect(body).toBe(unknown);
  });

  it("refuses an expired key with the same bytes as an unknown key, even while its record is cached", async () => {
    const t = tenant();
    const start = Date.now();
    const { key } = await createKey(t, { psa: "read" }, { expiresAt: new Date(start + 10_000).toISOString() });
    setKeyClock(() => start);
    expect((await useKey(key)).res.status).toBe(200);
    // 11 s later the key has expired, while its record is still inside the 30 s isolate cache: no KV read.
    setKeyClock(() => start + 11_000);
    const { kv, counts } = countingKv();
    const id = rid("key");
    const after = await callWith({ ...env, KEYS: kv }, "/psa/tickets", { "x-integration-key": key, "x-request-id": id, "cf-connecting-ip": freshAddress() });
    expect(after.status).toBe(401);
    expect(counts.get).toBe(0);
    expect(await recorded("psa", id)).toEqual([]);
    expect(await after.text()).toBe(await unknownKeyBody());
  });

  it("admits a cached key until the millisecond before its expiry and refuses it from its expiry on", async () => {
    const t = tenant();
    const expiry = Math.ceil(Date.now() / 1000) * 1000 + 60_000;
    const { key } = await createKey(t, { psa: "read" }, { expiresAt: new Date(expiry).toISOString() });
    setKeyClock(() => expiry - 1);
    expect((await useKey(key)).res.status).toBe(200);
    setKeyClock(() => expiry);
    const after = await useKey(key);
    expect(after.res.status).toBe(401);
    expect(after.forwarded).toEqual([]);
  });

  it("refuses a key revoked through this isolate on its very next request with the same bytes as an unknown key", async () => {
    const t = tenant();
    const { key, keyId } = await createKey(t, { psa: "write" });
    expect((await useKey(key)).res.status).toBe(200);
    const revoke = await call(`/__gateway/admin/tenants/${t}/keys/${keyId}`, { method: "DELETE", headers: ADMIN });
    expect(revoke.status).toBe(200);
    const after = await useKey(key);
    expect(after.res.status).toBe(401);
    expect(after.forwarded).toEqual([]);
    expect(after.body).toBe(await unknownKeyBody());
  });
});

describe("integration key: revocation does not wait for caches", () => {
  it("refuses a key revoked at the authority elsewhere once this isolate's lease ends, its record still cached (no KV read)", async () => {
    const t = tenant();
    const { key, keyId } = await createKey(t, { psa: "write" });
    const lease = { now: Date.now() };
    setLeaseClock(() => lease.now);
    setKeyClock(() => lease.now); // frozen: the cached record never expires in this test
    const { kv, counts } = countingKv();
    const send = async () => {
      const id = rid("key");
      const res = await callWith({ ...env, KEYS: kv }, "/psa/tickets", { "x-integration-key": key, "x-request-id": id, "cf-connecting-ip": freshAddress() });
      return { status: res.status, body: await res.text(), forwarded: await recorded("psa", id) };
    };
    expect((await send()).status).toBe(200); // the record is now cached here
    expect((await send()).status).toBe(200); // and, with demand seen, a lease held beyond this request's need
    expect(counts.get).toBe(1);

    // Another isolate's revocation, as the authority records it: the directory, whose shard's alarm tells
    // the tenant's limiter and rewrites KV. Nothing of it happens in this isolate.
    const shard = env.KEY_DIRECTORY.getByName(shardForKeyId(keyId));
    expect(await shard.revoke(t, keyId)).toMatchObject({ record: { revokedAt: expect.any(String) } });
    expect(await runDurableObjectAlarm(shard)).toBe(true);

    // Until the lease in hand ends this isolate has not heard of it (docs/rate-limiting.md: within one lease life) ...
    expect((await send()).status).toBe(200);
    // ... and the next exchange with the limiter carries it.
    lease.now += 1_000; // RATE_LIMIT_LEASE_MS
    const after = await send();
    expect(after.status).toBe(401);
    expect(after.forwarded).toEqual([]);
    expect(after.body).toBe(await unknownKeyBody());
    expect(counts.get).toBe(1);
  });

  it("refuses a key revoked through this isolate while KV still serves the unrevoked record and the isolate cache holds it", async () => {
    const t = tenant();
    const { key, keyId } = await createKey(t, { psa: "write" });
    expect((await useKey(key)).res.status).toBe(200);
    const stale = await revokeHereKeepStaleKv(t, key, keyId);
    await expectUnknownVia(stale, key, 1);

    // That read put the unrevoked record in this isolate's key cache: the next request does not read KV
    // at all, and is still refused.
    await expectUnknownVia(countingKv(), key, 0);
  });

  it("answers a key revoked through this isolate 401, not 403, on a route it could never call, while KV still serves its unrevoked record", async () => {
    const t = tenant();
    const { key, keyId } = await createKey(t, { rmm: "read" });
    const stale = await revokeHereKeepStaleKv(t, key, keyId);
    await expectUnknownVia(stale, key, 1);
  });

  it("keeps a revoked key refused on every later request", async () => {
    const t = tenant();
    const { key, keyId } = await createKey(t, { psa: "write" });
    await call(`/__gateway/admin/tenants/${t}/keys/${keyId}`, { method: "DELETE", headers: ADMIN });
    for (let i = 0; i < 3; i++) {
      const { res, forwarded } = await useKey(key);
      expect(res.status).toBe(401);
      expect(forwarded).toEqual([]);
    }
  });

  it("leaves the tenant's other keys working when one is revoked", async () => {
    const t = tenant();
    const revoked = await createKey(t, { psa: "write" });
    const kept = await createKey(t, { psa: "write" });
    await call(`/__gateway/admin/tenants/${t}/keys/${revoked.keyId}`, { method: "DELETE", headers: ADMIN });
    expect((await useKey(revoked.key)).res.status).toBe(401);
    expect((await useKey(kept.key)).res.status).toBe(200);
  });
});
