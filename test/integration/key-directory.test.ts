/**
 * The key directory as the authority: a key KV does not show yet works on its first request (the miss is
 * confirmed with the directory), an unreachable directory is 503 rather than a false 401, and admin writes
 * go to the directory first, then KV, with partial failures reported and repaired by the directory's alarm.
 * KV is only the directory's cache: a KV read that fails or is late (KEY_KV_TIMEOUT_MS) asks the directory.
 * A store that never answers is met with its deadline (KEY_KV_TIMEOUT_MS, KEY_DIRECTORY_TIMEOUT_MS,
 * ADMIN_STORE_TIMEOUT_MS) set small, and its timer fired by hand (../support/deadline.ts), never on the wall clock.
 */
import { runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { generateIntegrationKey } from "../../src/auth/integration-key";
import { hashKey, shardForHash, shardForKeyId, type KeyRecord } from "../../src/auth/key-record";
import { ADMIN, call, createKey, envelope, recorded, rid, tenant } from "../support/gateway";
import { brokenDirectory, countingDirectory, directoryOnlyKey, freshAddress, wrappedKv } from "../support/key-stores";
import { answeredAfter } from "../support/deadline";
import { captureLogs } from "../support/logs";
import { never, silentLimiter, unavailableObject, withObjectBug } from "../support/silent-bindings";
import { TenantLimiter } from "../../src/ratelimit/tenant-limiter";
import { KeyDirectory } from "../../src/auth/key-directory";
import { callWith, envWith } from "../support/worker";
import { leaseExchange } from "../support/lease-exchange";

const JSON_ADMIN = { ...ADMIN, "content-type": "application/json" };

const headersFor = (key: string, id = rid("dir")) => ({ "x-integration-key": key, "x-request-id": id, "cf-connecting-ip": freshAddress() });

/** The tenant's revoked key ids as its limiter tells an isolate on first contact. */
async function limiterRevocations(t: string): Promise<string[]> {
  const answer = await leaseExchange(env.TENANT_LIMITER.getByName(t), { holderId: crypto.randomUUID(), keyId: null, want: 1, min: 1, ttlMs: 1000, defaults: [], reports: [], revocationCursor: 0 });
  return answer.revoked;
}

describe("key directory: a new key on its first request", () => {
  it("admits a key that KV does not show yet, after one directory lookup, and caches it", async () => {
    const t = tenant("dir-first");
    const { key, hash } = await directoryOnlyKey(t);
    const { kv, counts } = wrappedKv({ hidden: (name) => name === `key:${hash}` });
    const dir = countingDirectory();
    const id = rid("first");
    const first = await callWith(envWith({ KEYS: kv, KEY_DIRECTORY: dir.directory }), "/psa/tickets", { headers: headersFor(key, id) });
    expect(first.status).toBe(200);
    expect((await recorded("psa", id)).length).toBe(1);
    expect([counts.get, dir.lookups()]).toEqual([1, 1]);
    const second = await callWith(envWith({ KEYS: kv, KEY_DIRECTORY: dir.directory }), "/psa/tickets", { headers: headersFor(key) });
    expect(second.status).toBe(200);
    expect([counts.get, dir.lookups()]).toEqual([1, 1]);
  });

  it("reads a key that KV has from KV alone, with no directory lookup", async () => {
    const t = tenant("dir-kvhit");
    const { key } = await createKey(t, { psa: "read" });
    const { kv, counts } = wrappedKv();
    const dir = countingDirectory();
    const res = await callWith(envWith({ KEYS: kv, KEY_DIRECTORY: dir.directory }), "/psa/tickets", { headers: headersFor(key) });
    expect(res.status).toBe(200);
    expect([counts.get, dir.lookups()]).toEqual([1, 0]);
  });

  it("answers 503 SERVICE_UNAVAILABLE with Retry-After, not 401, when KV misses and the directory fails", async () => {
    const t = tenant("dir-down");
    const { key, hash } = await directoryOnlyKey(t);
    const { kv } = wrappedKv({ hidden: (name) => name === `key:${hash}` });
    const id = rid("down");
    const res = await callWith(envWith({ KEYS: kv, KEY_DIRECTORY: brokenDirectory() }), "/psa/tickets", { headers: headersFor(key, id) });
    expect(res.status).toBe(503);
    expect((await envelope(res)).code).toBe("SERVICE_UNAVAILABLE");
    expect(res.headers.get("retry-after")).toBe("1");
    expect(await recorded("psa", id)).toEqual([]);
    // Nothing was cached: once the directory answers, the key works.
    const after = await callWith(envWith({ KEYS: kv }), "/psa/tickets", { headers: headersFor(key) });
    expect(after.status).toBe(200);
  });

  it("answers 503 SERVICE_UNAVAILABLE with Retry-After at KEY_DIRECTORY_TIMEOUT_MS, not the 1 s default, when the directory never answers", async () => {
    const t = tenant("dir-late");
    const { key, hash } = await directoryOnlyKey(t);
    const { kv } = wrappedKv({ hidden: (name) => name === `key:${hash}` });
    const id = rid("late");
    const res = await answeredAfter([50], () => callWith(envWith({ KEYS: kv, KEY_DIRECTORY: brokenDirectory(true), KEY_DIRECTORY_TIMEOUT_MS: "50" }), "/psa/tickets", { headers: headersFor(key, id) }));
    expect(res.status).toBe(503);
    expect(await envelope(res)).toEqual({ error: expect.any(String), code: "SERVICE_UNAVAILABLE", details: null });
    expect(res.headers.get("retry-after")).toBe("1");
    expect(await recorded("psa", id, 0)).toEqual([]);
  });
});

describe("key directory: KV, only its cache, failing or late", () => {
  it("asks the directory when the KV read fails: the key is admitted", async () => {
    const t = tenant("kv-fail");
    const { key } = await directoryOnlyKey(t);
    const { kv, counts } = wrappedKv({ gets: "fail" });
    const dir = countingDirectory();
    const id = rid("kvfail");
    let res: Response | undefined;
    const lines = await captureLogs(async () => {
      res = await callWith(envWith({ KEYS: kv, KEY_DIRECTORY: dir.directory }), "/psa/tickets", { headers: headersFor(key, id) });
    });
    expect(res?.status).toBe(200);
    expect(lines.map((l) => JSON.parse(l) as Record<string, unknown>)).toContainEqual({ level: "warn", msg: "key cache unavailable, asking the key directory", error: "Error: KV get failed" });
    expect([counts.get, dir.lookups()]).toEqual([1, 1]);
    expect((await recorded("psa", id)).length).toBe(1);
  });

  it("asks the directory at KEY_KV_TIMEOUT_MS when the KV read never answers: the key is admitted", async () => {
    const t = tenant("kv-late");
    const { key } = await directoryOnlyKey(t);
    const { kv } = wrappedKv({ gets: "hang" });
    const dir = countingDirectory();
    const res = await answeredAfter([40], () => callWith(envWith({ KEYS: kv, KEY_DIRECTORY: dir.directory, KEY_KV_TIMEOUT_MS: "40" }), "/psa/tickets", { headers: headersFor(key) }));
    expect(res.status).toBe(200);
    expect(dir.lookups()).toBe(1);
  });

  it("refuses an unknown key with 401 when KV fails and the directory does not know it", async () => {
    const { kv } = wrappedKv({ gets: "fail" });
    const res = await callWith(envWith({ KEYS: kv }), "/psa/tickets", { headers: headersFor(generateIntegrationKey()) });
    expect(res.status).toBe(401);
    expect((await envelope(res)).code).toBe("UNAUTHORIZED");
  });

  it("answers 503 with Retry-After when KV fails and the directory fails too", async () => {
    const t = tenant("kv-dir-down");
    const { key } = await directoryOnlyKey(t);
    const { kv } = wrappedKv({ gets: "fail" });
    const id = rid("kvdown");
    const res = await callWith(envWith({ KEYS: kv, KEY_DIRECTORY: brokenDirectory() }), "/psa/tickets", { headers: headersFor(key, id) });
    expect(res.status).toBe(503);
    expect(res.headers.get("retry-after")).toBe("1");
    expect(await envelope(res)).toEqual({ error: expect.any(String), code: "SERVICE_UNAVAILABLE", details: null });
    expect(await recorded("psa", id, 0)).toEqual([]);
  });

  it("answers 503 with Retry-After at KEY_KV_TIMEOUT_MS + KEY_DIRECTORY_TIMEOUT_MS when neither KV nor the directory answers", async () => {
    const t = tenant("kv-dir-late");
    const { key } = await directoryOnlyKey(t);
    const { kv } = wrappedKv({ gets: "hang" });
    const id = rid("kvlate");
    const res = await answeredAfter([40, 60], () =>
      callWith(envWith({ KEYS: kv, KEY_DIRECTORY: brokenDirectory(true), KEY_KV_TIMEOUT_MS: "40", KEY_DIRECTORY_TIMEOUT_MS: "60" }), "/psa/tickets", { headers: headersFor(key, id) }),
    );
    expect(res.status).toBe(503);
    expect(res.headers.get("retry-after")).toBe("1");
    expect(await envelope(res)).toEqual({ error: expect.any(String), code: "SERVICE_UNAVAILABLE", details: null });
    expect(await recorded("psa", id, 0)).toEqual([]);
  });
});

describe("key directory: admin writes, directory first", () => {
  it("creates a key when KV fails: 201 with propagation.kv failed, the key works, and the alarm writes KV", async () => {
    const t = tenant("dir-kvfail");
    const { kv } = wrappedKv({ failPuts: true });
    const res = await callWith(envWith({ KEYS: kv }), `/__gateway/admin/tenants/${t}/keys`, { method: "POST", headers: JSON_ADMIN, body: JSON.stringify({ name: "k", access: { psa: "read" } }) });
    expect(res.status).toBe(201);
    const body = (await res.json()) as { key: string; keyId: string; propagation: unknown };
    expect(body.propagation).toEqual({ directory: "written", kv: "failed" });
    const hash = await hashKey(body.key);
    expect(await env.KEYS.get(`key:${hash}`)).toBeNull();
    expect((await callWith(envWith({}), "/psa/tickets", { headers: headersFor(body.key) })).status).toBe(200);
    expect(await runDurableObjectAlarm(env.KEY_DIRECTORY.getByName(shardForHash(hash)))).toBe(true);
    expect(await env.KEYS.get(`key:${hash}`, "json")).toMatchObject({ keyId: body.keyId, tenantId: t, revokedAt: null });
  });

  it("ends the alarm's KV write that never answers at ADMIN_STORE_TIMEOUT_MS: the row stays unsynced and the alarm comes back", async () => {
    const t = tenant("dir-alarm-late");
    const { kv: failing } = wrappedKv({ failPuts: true });
    const res = await callWith(envWith({ KEYS: failing }), `/__gateway/admin/tenants/${t}/keys`, { method: "POST", headers: JSON_ADMIN, body: JSON.stringify({ name: "k", access: { psa: "read" } }) });
    const hash = await hashKey(((await res.json()) as { key: string }).key);
    // KV never answers a write of this key; other rows of the shard (other tests') sync as usual.
    const hanging = new Proxy(env.KEYS, {
      get: (target, prop) => (prop === "put" ? (name: string, value: string) => (name === `key:${hash}` ? never() : target.put(name, value)) : Reflect.get(target, prop, target)),
    });
    const stub = env.KEY_DIRECTORY.getByName(shardForHash(hash));
    const next = await runInDurableObject(stub, async (instance: KeyDirectory, state) => {
      const real = Reflect.get(instance, "env") as Env;
      Reflect.set(instance, "env", { ...real, KEYS: hanging, ADMIN_STORE_TIMEOUT_MS: "50" });
      try {
        await answeredAfter([50], () => instance.alarm());
        return state.storage.getAlarm();
      } finally {
        Reflect.set(instance, "env", real);
      }
    });
    expect(next).not.toBeNull(); // an alarm is set for the retry
    expect(await env.KEYS.get(`key:${hash}`)).toBeNull();
    expect(await runDurableObjectAlarm(stub)).toBe(true); // the next alarm, with KV answering, writes it
    expect(await env.KEYS.get(`key:${hash}`, "json")).toMatchObject({ tenantId: t, revokedAt: null });
  });

  it("creates nothing when the directory fails: 503 with details.directory failed, and no KV write", async () => {
    const t = tenant("dir-fail");
    const { kv, counts } = wrappedKv();
    const res = await callWith(envWith({ KEYS: kv, KEY_DIRECTORY: brokenDirectory() }), `/__gateway/admin/tenants/${t}/keys`, { method: "POST", headers: JSON_ADMIN, body: JSON.stringify({ name: "k", access: { psa: "read" } }) });
    expect(res.status).toBe(503);
    const e = await envelope(res);
    expect([e.code, e.details]).toEqual(["SERVICE_UNAVAILABLE", { directory: "failed" }]);
    expect(counts.put).toBe(0);
    expect((await (await call(`/__gateway/admin/tenants/${t}/keys`, { headers: ADMIN })).json()) as unknown).toEqual({ data: [] });
  });

  it("creates nothing when the directory never answers: 503 with details.directory failed at ADMIN_STORE_TIMEOUT_MS, not the 5 s default", async () => {
    const t = tenant("dir-late-admin");
    const { kv, counts } = wrappedKv();
    const res = await answeredAfter([50], () =>
      callWith(envWith({ KEYS: kv, KEY_DIRECTORY: brokenDirectory(true), ADMIN_STORE_TIMEOUT_MS: "50" }), `/__gateway/admin/tenants/${t}/keys`, { method: "POST", headers: JSON_ADMIN, body: JSON.stringify({ name: "k", access: { psa: "read" } }) }),
    );
    expect(res.status).toBe(503);
    expect(res.headers.get("retry-after")).toBe("1");
    expect(await envelope(res)).toEqual({ error: expect.any(String), code: "SERVICE_UNAVAILABLE", details: { directory: "failed" } });
    expect(counts.put).toBe(0);
  });

  it("revokes when KV fails: 503 naming the failed step, the key refused at once, KV repaired by the alarm, a retry answers 200", async () => {
    const t = tenant("dir-revkv");
    const { key, keyId } = await createKey(t, { psa: "read" });
    const hash = await hashKey(key);
    const { kv } = wrappedKv({ failPuts: true });
    const res = await callWith(envWith({ KEYS: kv }), `/__gateway/admin/tenants/${t}/keys/${keyId}`, { method: "DELETE", headers: ADMIN });
    expect(res.status).toBe(503);
    expect(res.headers.get("retry-after")).toBe("1");
    expect((await envelope(res)).details).toEqual({ keyId, directory: "written", limiter: "written", kv: "failed" });
    expect((await callWith(envWith({}), "/psa/tickets", { headers: headersFor(key) })).status).toBe(401);
    expect(await env.KEYS.get(`key:${hash}`, "json")).toMatchObject({ revokedAt: null }); // KV lags the directory ...
    await runDurableObjectAlarm(env.KEY_DIRECTORY.getByName(shardForKeyId(keyId)));
    const repaired = await env.KEYS.get<KeyRecord>(`key:${hash}`, "json"); // ... until the alarm
    expect(repaired?.revokedAt).not.toBeNull();
    const retry = await call(`/__gateway/admin/tenants/${t}/keys/${keyId}`, { method: "DELETE", headers: ADMIN });
    expect(retry.status).toBe(200);
    expect(((await retry.json()) as KeyRecord).revokedAt).toBe(repaired?.revokedAt);
  });

  it("revokes when the limiter fails: 503 with details.limiter failed, and the alarm re-sends the revocation", async () => {
    const t = tenant("dir-revlim");
    const { keyId } = await createKey(t, { psa: "read" });
    const limiter = { getByName: () => ({ revokeKey: () => Promise.reject(unavailableObject()) }) };
    const res = await callWith(envWith({ TENANT_LIMITER: limiter }), `/__gateway/admin/tenants/${t}/keys/${keyId}`, { method: "DELETE", headers: ADMIN });
    expect(res.status).toBe(503);
    expect((await envelope(res)).details).toEqual({ keyId, directory: "written", limiter: "failed", kv: "written" });
    expect(await limiterRevocations(t)).toEqual([]);
    await runDurableObjectAlarm(env.KEY_DIRECTORY.getByName(shardForKeyId(keyId)));
    expect(await limiterRevocations(t)).toEqual([keyId]);
  });

  it("revokes when the limiter never answers: 503 with details.limiter failed at ADMIN_STORE_TIMEOUT_MS, not the 5 s default", async () => {
    const t = tenant("dir-revlate");
    const { key, keyId } = await createKey(t, { psa: "read" });
    const res = await answeredAfter([50], () => callWith(envWith({ TENANT_LIMITER: silentLimiter("revokeKey"), ADMIN_STORE_TIMEOUT_MS: "50" }), `/__gateway/admin/tenants/${t}/keys/${keyId}`, { method: "DELETE", headers: ADMIN }));
    expect(res.status).toBe(503);
    expect(res.headers.get("retry-after")).toBe("1");
    expect(await envelope(res)).toEqual({ error: expect.any(String), code: "SERVICE_UNAVAILABLE", details: { keyId, directory: "written", limiter: "failed", kv: "written" } });
    expect((await callWith(envWith({}), "/psa/tickets", { headers: headersFor(key) })).status).toBe(401);
  });

  it("adopts a key made before the directory (KV only) when it is revoked, and lists it once", async () => {
    const t = tenant("dir-legacy");
    const key = generateIntegrationKey();
    const hash = await hashKey(key);
    const keyId = "key_0123456789abcdef";
    const record: KeyRecord = { keyId, tenantId: t, name: "old", access: { psa: "read" }, createdAt: new Date().toISOString(), expiresAt: null, revokedAt: null };
    await env.KEYS.put(`key:${hash}`, JSON.stringify(record));
    await env.KEYS.put(`tenant:${t}:key:${keyId}`, JSON.stringify({ ...record, hash }));
    expect((await call("/psa/tickets", { headers: headersFor(key) })).status).toBe(200);
    const revoke = await call(`/__gateway/admin/tenants/${t}/keys/${keyId}`, { method: "DELETE", headers: ADMIN });
    expect(revoke.status).toBe(200);
    expect(await env.KEY_DIRECTORY.getByName(shardForHash(hash)).lookup(hash)).toMatchObject({ keyId, revokedAt: expect.any(String) });
    expect((await call("/psa/tickets", { headers: headersFor(key) })).status).toBe(401);
    const list = (await (await call(`/__gateway/admin/tenants/${t}/keys`, { headers: ADMIN })).json()) as { data: Array<{ keyId: string; state: string }> };
    expect(list.data.map((k) => [k.keyId, k.state])).toEqual([[keyId, "revoked"]]);
  });
});

describe("key directory: keys made before it, read from KV with the admin deadline", () => {
  /** A key that only KV's per-tenant index knows (made before the directory), and its id. */
  async function legacyOnly(t: string): Promise<string> {
    const keyId = `key_${crypto.randomUUID().replaceAll("-", "").slice(0, 16)}`;
    const record: KeyRecord = { keyId, tenantId: t, name: "old", access: { psa: "read" }, createdAt: new Date().toISOString(), expiresAt: null, revokedAt: null };
    await env.KEYS.put(`tenant:${t}:key:${keyId}`, JSON.stringify({ ...record, hash: await hashKey(generateIntegrationKey()) }));
    return keyId;
  }

  // Each operation that looks a key id up asks the directory first, then KV's index of keys made before it.
  const BY_ID: Array<[string, string, (t: string, keyId: string) => string]> = [
    ["DELETE", "revoke", (t, keyId) => `/__gateway/admin/tenants/${t}/keys/${keyId}`],
    ["POST", "roll", (t, keyId) => `/__gateway/admin/tenants/${t}/keys/${keyId}/roll`],
    ["GET", "the key's limits", (t, keyId) => `/__gateway/admin/tenants/${t}/keys/${keyId}/rate-limit`],
  ];

  it.each(BY_ID)("%s (%s) answers 503 with details.kv failed at ADMIN_STORE_TIMEOUT_MS when the KV index read never answers, not a hang or a 404", async (method, _op, path) => {
    const t = tenant("legacy-late");
    const { kv } = wrappedKv({ gets: "hang" });
    const res = await answeredAfter([50], () => callWith(envWith({ KEYS: kv, ADMIN_STORE_TIMEOUT_MS: "50" }), path(t, "key_00000000000000aa"), { method, headers: ADMIN }));
    expect(res.status).toBe(503);
    expect(res.headers.get("retry-after")).toBe("1");
    expect(await envelope(res)).toEqual({ error: expect.any(String), code: "SERVICE_UNAVAILABLE", details: { kv: "failed" } });
  });

  it.each(BY_ID)("%s (%s) answers 503 with details.kv failed, not 500, when the KV index read fails", async (method, _op, path) => {
    const t = tenant("legacy-fail");
    const { kv } = wrappedKv({ gets: "fail" });
    const res = await callWith(envWith({ KEYS: kv }), path(t, "key_00000000000000ab"), { method, headers: ADMIN });
    expect(res.status).toBe(503);
    expect(res.headers.get("retry-after")).toBe("1");
    expect(await envelope(res)).toEqual({ error: expect.any(String), code: "SERVICE_UNAVAILABLE", details: { kv: "failed" } });
  });

  it("lists a tenant's keys with 503 and details.kv failed at ADMIN_STORE_TIMEOUT_MS when a KV index read never answers, never a list without its older keys", async () => {
    const t = tenant("legacy-list-late");
    await legacyOnly(t);
    const { kv } = wrappedKv({ gets: "hang" });
    const res = await answeredAfter([50], () => callWith(envWith({ KEYS: kv, ADMIN_STORE_TIMEOUT_MS: "50" }), `/__gateway/admin/tenants/${t}/keys`, { headers: ADMIN }));
    expect(res.status).toBe(503);
    expect(res.headers.get("retry-after")).toBe("1");
    expect(await envelope(res)).toEqual({ error: expect.any(String), code: "SERVICE_UNAVAILABLE", details: { kv: "failed" } });
  });

  it("lists a tenant's keys with 503 and details.kv failed, not 500, when a KV index read fails; with KV answering, the older key is listed", async () => {
    const t = tenant("legacy-list-fail");
    const keyId = await legacyOnly(t);
    const res = await callWith(envWith({ KEYS: wrappedKv({ gets: "fail" }).kv }), `/__gateway/admin/tenants/${t}/keys`, { headers: ADMIN });
    expect(res.status).toBe(503);
    expect(await envelope(res)).toEqual({ error: expect.any(String), code: "SERVICE_UNAVAILABLE", details: { kv: "failed" } });
    const listed = (await (await call(`/__gateway/admin/tenants/${t}/keys`, { headers: ADMIN })).json()) as { data: Array<{ keyId: string }> };
    expect(listed.data.map((k) => k.keyId)).toEqual([keyId]);
  });
});

describe("key directory: unavailable, or our own bug", () => {
  it.each([
    ["retryable", { retryable: true }],
    ["overloaded", { overloaded: true }],
    ["reset", { durableObjectReset: true }],
  ])("answers 503 with Retry-After when the directory call fails as the runtime says an unavailable object does (%s)", async (_name, flags) => {
    const t = tenant("dir-unavail");
    const { key, hash } = await directoryOnlyKey(t);
    const { kv } = wrappedKv({ hidden: (name) => name === `key:${hash}` });
    const id = rid("unavail");
    const res = await callWith(envWith({ KEYS: kv, KEY_DIRECTORY: brokenDirectory(false, flags) }), "/psa/tickets", { headers: headersFor(key, id) });
    expect(res.status).toBe(503);
    expect(res.headers.get("retry-after")).toBe("1");
    expect(await recorded("psa", id, 0)).toEqual([]);
  });

  it("answers 500 INTERNAL_ERROR and logs an exception, not 503, when the key directory's own code throws", async () => {
    const t = tenant("dir-bug");
    const { key, hash } = await directoryOnlyKey(t);
    const { kv } = wrappedKv({ hidden: (name) => name === `key:${hash}` });
    const id = rid("dirbug");
    let res: Response | undefined;
    // A bug in the directory's lookup, run for real in the object: the call comes back with the object's error.
    const lines = await withObjectBug(KeyDirectory, "lookup", "Cannot read properties of undefined (reading 'keyId')", () =>
      captureLogs(async () => {
        res = await callWith(envWith({ KEYS: kv }), "/psa/tickets", { headers: headersFor(key, id) });
      }),
    );
    expect(res?.status).toBe(500);
    expect(await envelope(res as Response)).toEqual({ error: expect.any(String), code: "INTERNAL_ERROR", details: null });
    expect(res?.headers.get("retry-after")).toBeNull();
    const exception = lines.map((l) => JSON.parse(l) as Record<string, unknown>).find((l) => l.msg === "exception");
    expect(exception).toMatchObject({ level: "error", requestId: id, error: { message: expect.stringContaining("reading 'keyId'") } });
    expect(await recorded("psa", id, 0)).toEqual([]);
  });

  it("answers 500 INTERNAL_ERROR and logs an exception, not 503, when the Worker's own call to the directory is a bug (no such method)", async () => {
    const t = tenant("dir-bug-local");
    const { key, hash } = await directoryOnlyKey(t);
    const { kv } = wrappedKv({ hidden: (name) => name === `key:${hash}` });
    const id = rid("dirbug");
    let res: Response | undefined;
    const lines = await captureLogs(async () => {
      res = await callWith(envWith({ KEYS: kv, KEY_DIRECTORY: { getByName: () => ({}) } }), "/psa/tickets", { headers: headersFor(key, id) });
    });
    expect(res?.status).toBe(500);
    expect((await envelope(res as Response)).code).toBe("INTERNAL_ERROR");
    expect(lines.map((l) => JSON.parse(l) as Record<string, unknown>)).toContainEqual(expect.objectContaining({ msg: "exception", requestId: id, error: expect.objectContaining({ name: "TypeError" }) }));
  });
});

describe("key directory: a bug in a later step of an admin change", () => {
  /** Runs `fn` with the tenant's object's `method` throwing a TypeError from its own code. */
  const withLimiterBug = <T>(method: "revokeKey" | "inheritKeyPolicies", fn: () => Promise<T>) => withObjectBug(TenantLimiter, method, "Cannot read properties of undefined (reading 'revoked')", fn);

  /** The exception lines logged for the request that got `res`. */
  const exceptions = (lines: string[], res: Response | undefined) => lines.map((l) => JSON.parse(l) as Record<string, unknown>).filter((l) => l.msg === "exception" && l.requestId === res?.headers.get("x-request-id"));

  it("revokes and records it when the tenant's object's code throws, then answers 500 INTERNAL_ERROR with the exception logged, not 503", async () => {
    const t = tenant("dir-rev-bug");
    const { key, keyId } = await createKey(t, { psa: "read" });
    let res: Response | undefined;
    const lines = await withLimiterBug("revokeKey", () =>
      captureLogs(async () => {
        res = await call(`/__gateway/admin/tenants/${t}/keys/${keyId}`, { method: "DELETE", headers: ADMIN });
      }),
    );
    expect(res?.status).toBe(500);
    expect(await envelope(res as Response)).toEqual({ error: expect.any(String), code: "INTERNAL_ERROR", details: null });
    expect(exceptions(lines, res)).toEqual([expect.objectContaining({ error: expect.objectContaining({ message: expect.stringContaining("reading 'revoked'") }) })]);
    // The revocation stands, is in the trail, and the retry completes it.
    expect((await call("/psa/tickets", { headers: headersFor(key) })).status).toBe(401);
    const trail = (await (await call(`/__gateway/admin/tenants/${t}/audit`, { headers: ADMIN })).json()) as { data: Array<{ action: string }> };
    expect(trail.data.map((e) => e.action)).toEqual(["key.revoked", "key.created"]);
    expect((await call(`/__gateway/admin/tenants/${t}/keys/${keyId}`, { method: "DELETE", headers: ADMIN })).status).toBe(200);
  });

  it("rolls and answers 201 with the plaintext when the tenant's object's code throws copying the policies, with the exception logged", async () => {
    const t = tenant("dir-roll-bug");
    const { keyId } = await createKey(t, { psa: "read" });
    let res: Response | undefined;
    const lines = await withLimiterBug("inheritKeyPolicies", () =>
      captureLogs(async () => {
        res = await call(`/__gateway/admin/tenants/${t}/keys/${keyId}/roll`, { method: "POST", headers: JSON_ADMIN, body: JSON.stringify({ gracePeriod: "1h" }) });
      }),
    );
    expect(res?.status).toBe(201);
    const body = (await (res as Response).json()) as { key: string; propagation: unknown };
    expect(body.propagation).toEqual({ directory: "written", kv: "written", limiter: "failed" });
    expect((await call("/psa/tickets", { headers: headersFor(body.key) })).status).toBe(200);
    expect(exceptions(lines, res)).toEqual([expect.objectContaining({ error: expect.objectContaining({ message: expect.stringContaining("reading 'revoked'") }) })]);
  });
});
