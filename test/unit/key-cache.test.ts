/**
 * The isolate's key caches: confirmed misses live in a cache of their own, so no number of made-up keys
 * can evict a real key's record; a cached record still expires on the injected clock.
 */
import { describe, expect, it } from "vitest";
import type { KeyRecord } from "../../src/auth/key-record";
import { cachedKey, lookUpKey, POSITIVE_TTL_MS, type KeyStores } from "../../src/auth/key-store";

const record = (keyId: string): KeyRecord => ({ keyId, tenantId: "t", name: "n", access: { psa: "read" }, createdAt: "2030-01-01T00:00:00.000Z", expiresAt: null, revokedAt: null });

/** Stores that know `known` (hash -> record) in KV and nothing in the directory, counting reads. */
function stores(known: Map<string, KeyRecord>) {
  const reads = { kv: 0, directory: 0 };
  const s = {
    kv: { get: async (name: string) => ((reads.kv += 1), known.get(name.slice(4)) ?? null) },
    directory: { getByName: () => ({ lookup: async () => ((reads.directory += 1), null) }) },
  } as unknown as KeyStores;
  return { s, reads };
}

describe("key caches", () => {
  it("keeps a real key cached through 20,000 confirmed misses (twice the miss cache's bound)", async () => {
    const real = "a".repeat(64);
    const { s, reads } = stores(new Map([[real, record("key_a000000000000000")]]));
    const now = 1_000_000;
    expect(await lookUpKey(s, real, now)).toMatchObject({ keyId: "key_a000000000000000" });
    for (let i = 0; i < 20_000; i++) await lookUpKey(s, `f${i.toString(16).padStart(63, "0")}`, now);
    expect(reads).toEqual({ kv: 20_001, directory: 20_000 });
    expect(cachedKey(real, now + 1)).toMatchObject({ keyId: "key_a000000000000000" });
    // The oldest misses were the ones evicted.
    expect(cachedKey(`f${"0".repeat(63)}`, now + 1)).toBeUndefined();
    expect(cachedKey(`f${(19_999).toString(16).padStart(63, "0")}`, now + 1)).toBeNull();
  });

  it("trusts a cached record for the positive TTL only", async () => {
    const hash = "b".repeat(64);
    const { s } = stores(new Map([[hash, record("key_b000000000000000")]]));
    await lookUpKey(s, hash, 0);
    expect(cachedKey(hash, POSITIVE_TTL_MS - 1)).not.toBeUndefined();
    expect(cachedKey(hash, POSITIVE_TTL_MS)).toBeUndefined();
  });
});
