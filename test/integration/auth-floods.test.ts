/**
 * Unauthenticated floods of made-up keys with valid checksums: each address may cost the gateway a few
 * lookups (KV + directory) per period, then is refused with 429 before any lookup; real keys stay cached
 * throughout; valid keys, cached or not, never touch the limiter binding; no tenant pays for any of it. An
 * IPv6 address counts by its /64. A binding that never answers counts as a refusal at AUTH_LIMITER_TIMEOUT_MS
 * (set small, its timer fired by hand: no wall clock).
 */
import { runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it, onTestFinished } from "vitest";
import { setLeaseClock } from "../../src/ratelimit/admission";
import { generateIntegrationKey } from "../../src/auth/integration-key";
import { createKey, envelope, rid, tenant } from "../support/gateway";
import { countingDirectory, freshAddress, wrappedKv } from "../support/key-stores";
import { answeredAfter } from "../support/deadline";
import { silentRateLimit } from "../support/silent-bindings";
import { callWith, envWith } from "../support/worker";
import { unknownKeyLimit } from "../../src/security/address-limit";

const FAILURE_LIMIT = unknownKeyLimit.limit;
const FAILURE_PERIOD_SEC = unknownKeyLimit.periodSec;

/** An AUTH_FAILURE_LIMITER over the real binding that counts calls. */
function countingLimiter() {
  let calls = 0;
  const limiter = {
    limit(options: RateLimitOptions) {
      calls += 1;
      return env.AUTH_FAILURE_LIMITER.limit(options);
    },
  };
  return { limiter, calls: () => calls };
}

function stores(more: Record<string, unknown> = {}) {
  const kv = wrappedKv();
  const dir = countingDirectory();
  const limiter = countingLimiter();
  return { kv, dir, limiter, env: envWith({ KEYS: kv.kv, KEY_DIRECTORY: dir.directory, AUTH_FAILURE_LIMITER: limiter.limiter, ...more }) };
}

/** A TENANT_LIMITER namespace over the real one that records every call to any tenant's object, as "tenant method". */
function watchedLimiter() {
  const calls: string[] = [];
  const watched = (name: string, real: ReturnType<Env["TENANT_LIMITER"]["get"]>) =>
    new Proxy(real, {
        get(target, prop) {
          const value: unknown = Reflect.get(target, prop, target);
          if (typeof prop !== "string" || typeof value !== "function") return value;
          return (...args: unknown[]) => {
            calls.push(`${name} ${prop}`);
            // Reflect.apply, not value.apply: on an RPC stub, `.apply` would be a remote method of that name.
            return Reflect.apply(value as (...a: unknown[]) => unknown, target, args);
          };
        },
      });
  const namespace = {
    getByName: (name: string) => watched(name, env.TENANT_LIMITER.getByName(name)),
    idFromName: (name: string) => env.TENANT_LIMITER.idFromName(name),
    get: (id: DurableObjectId) => watched(id.name ?? id.toString(), env.TENANT_LIMITER.get(id)),
  };
  return { namespace, calls };
}

/** The counts a tenant's object has stored, read from its SQLite storage. */
function storedCounts(t: string) {
  return runInDurableObject(env.TENANT_LIMITER.getByName(t), (_instance, state) => state.storage.sql.exec("SELECT store, bucket, count FROM counts ORDER BY store, bucket").toArray());
}

const send = (e: Env, key: string, address: string) => callWith(e, "/psa/tickets", { headers: { "x-integration-key": key, "x-request-id": rid("flood"), "cf-connecting-ip": address } });

describe("unauthenticated floods", () => {
  it(`looks up ${FAILURE_LIMIT + 1} unknown keys from an address, then refuses it with 429 and Retry-After before any lookup`, async () => {
    const s = stores();
    const address = freshAddress();
    const statuses: number[] = [];
    let last: Response | null = null;
    for (let i = 0; i < 40; i++) {
      last = await send(s.env, generateIntegrationKey(), address);
      statuses.push(last.status);
    }
    expect(statuses.slice(0, FAILURE_LIMIT)).toEqual(Array(FAILURE_LIMIT).fill(401));
    expect(statuses.slice(FAILURE_LIMIT)).toEqual(Array(40 - FAILURE_LIMIT).fill(429));
    // The refused one that tripped the limit was looked up; none after it.
    expect([s.kv.counts.get, s.dir.lookups()]).toEqual([FAILURE_LIMIT + 1, FAILURE_LIMIT + 1]);
    const e = await envelope(last!);
    expect(e.code).toBe("RATE_LIMIT_EXCEEDED");
    const retryAfter = Number(last!.headers.get("retry-after"));
    expect(retryAfter).toBeGreaterThan(0);
    expect(retryAfter).toBeLessThanOrEqual(FAILURE_PERIOD_SEC);
    expect(e.details).toMatchObject({ limit: FAILURE_LIMIT, retryAfter });
  });

  it("counts a binding that never answers as a refusal at AUTH_LIMITER_TIMEOUT_MS, not the 1 s default: 429 with Retry-After, then no lookup", async () => {
    const address = freshAddress();
    const res = await answeredAfter([50], () => send(envWith({ AUTH_FAILURE_LIMITER: silentRateLimit(), AUTH_LIMITER_TIMEOUT_MS: "50" }), generateIntegrationKey(), address));
    expect(res.status).toBe(429);
    expect(res.headers.get("retry-after")).toBe(String(FAILURE_PERIOD_SEC));
    expect(await envelope(res)).toEqual({ error: expect.any(String), code: "RATE_LIMIT_EXCEEDED", details: { limit: FAILURE_LIMIT, window: "1m", retryAfter: FAILURE_PERIOD_SEC } });
    // Fail closed: the address is now refused before any lookup, as after a refusal by the binding.
    const s = stores();
    expect((await send(s.env, generateIntegrationKey(), address)).status).toBe(429);
    expect([s.kv.counts.get, s.dir.lookups(), s.limiter.calls()]).toEqual([0, 0, 0]);
  });

  it("counts per address: a limited address does not limit another", async () => {
    const s = stores();
    const flooder = freshAddress();
    for (let i = 0; i <= FAILURE_LIMIT; i++) await send(s.env, generateIntegrationKey(), flooder);
    expect((await send(s.env, generateIntegrationKey(), flooder)).status).toBe(429);
    expect((await send(s.env, generateIntegrationKey(), freshAddress())).status).toBe(401);
  });

  it("counts an IPv6 /64 as one address: the limit spent from one address of it refuses the others, not the next /64", async () => {
    const s = stores();
    const flooder = freshAddress(); // 2001:db8:<random>:<random>::<random>
    const prefix = flooder.slice(0, flooder.indexOf("::"));
    for (let i = 0; i <= FAILURE_LIMIT; i++) await send(s.env, generateIntegrationKey(), `${prefix}::${(i + 1).toString(16)}`);
    const lookups = s.dir.lookups();
    for (const sibling of [`${prefix}:1:2:3:4`, `${prefix}::ffff`, flooder]) expect((await send(s.env, generateIntegrationKey(), sibling)).status).toBe(429);
    expect(s.dir.lookups()).toBe(lookups);
    const [a, b, c] = prefix.split(":").slice(1);
    const nextNetwork = `2001:${a}:${b}:${(parseInt(c ?? "0", 16) ^ 1).toString(16)}::1`;
    expect((await send(s.env, generateIntegrationKey(), nextNetwork)).status).toBe(401);
  });

  it("refuses a valid key that is not cached from an address that spent its budget: 429, no lookup", async () => {
    const t = tenant("flood-uncached");
    const { key } = await createKey(t, { psa: "read" });
    const s = stores();
    const address = freshAddress();
    for (let i = 0; i <= FAILURE_LIMIT; i++) await send(s.env, generateIntegrationKey(), address);
    const before = [s.kv.counts.get, s.dir.lookups()];
    const res = await send(s.env, key, address);
    expect(res.status).toBe(429);
    expect((await envelope(res)).code).toBe("RATE_LIMIT_EXCEEDED");
    expect([s.kv.counts.get, s.dir.lookups()]).toEqual(before);
    // From another address the same key is looked up and admitted.
    expect((await send(s.env, key, freshAddress())).status).toBe(200);
  });

  it("keeps real keys cached through a flood from many addresses: no KV read and no directory lookup for them after it", async () => {
    const t = tenant("flood");
    // A lease's end is not waited for here (callWith waits for the background work): docs/rate-limiting.md, "Edge admission".
    setLeaseClock(null, () => Promise.resolve());
    onTestFinished(() => setLeaseClock(null));
    const real = await Promise.all([1, 2, 3].map(() => createKey(t, { psa: "read" })));
    const s = stores();
    for (const k of real) expect((await send(s.env, k.key, freshAddress())).status).toBe(200);
    for (let i = 0; i < 300; i++) await send(s.env, generateIntegrationKey(), freshAddress());
    const before = [s.kv.counts.get, s.dir.lookups()];
    for (const k of real) expect((await send(s.env, k.key, freshAddress())).status).toBe(200);
    expect([s.kv.counts.get, s.dir.lookups()]).toEqual(before);
  });

  it("never calls the limiter binding for a valid key, cached or not, nor for a key failing its checksum", async () => {
    const t = tenant("flood-valid");
    const { key } = await createKey(t, { psa: "read" });
    const s = stores();
    const address = freshAddress();
    for (let i = 0; i < 5; i++) expect((await send(s.env, key, address)).status).toBe(200);
    const badChecksum = `${key.slice(0, -1)}${key.endsWith("A") ? "B" : "A"}`;
    for (let i = 0; i < 20; i++) expect((await send(s.env, badChecksum, address)).status).toBe(401);
    expect(s.limiter.calls()).toBe(0);
    expect([s.kv.counts.get, s.dir.lookups()]).toEqual([1, 0]); // the valid key's one read; nothing for the others
  });

  it("answers the same unknown key again from the miss cache: no second lookup, no second count", async () => {
    const s = stores();
    const address = freshAddress();
    const key = generateIntegrationKey();
    for (let i = 0; i < 20; i++) expect((await send(s.env, key, address)).status).toBe(401);
    expect([s.kv.counts.get, s.dir.lookups(), s.limiter.calls()]).toEqual([1, 1, 1]);
  });

  it("lets a valid key from a limited address through while its record is cached, and charges no tenant for the flood", async () => {
    const t = tenant("flood-nat");
    const { key } = await createKey(t, { psa: "read" });
    const limiter = watchedLimiter();
    const s = stores({ TENANT_LIMITER: limiter.namespace });
    const address = freshAddress();
    expect((await send(s.env, key, address)).status).toBe(200);
    const before = await storedCounts(t);
    expect(before.length).toBeGreaterThan(0); // the tenant's object counted the valid request's lease
    const calls = limiter.calls.length;
    for (let i = 0; i <= FAILURE_LIMIT; i++) await send(s.env, generateIntegrationKey(), address);
    expect((await send(s.env, generateIntegrationKey(), address)).status).toBe(429);
    // The flood reached no tenant's object, and the tenant's stored counts are as they were.
    expect(limiter.calls.slice(calls)).toEqual([]);
    expect(await storedCounts(t)).toEqual(before);
    expect((await send(s.env, key, address)).status).toBe(200);
  });
});
