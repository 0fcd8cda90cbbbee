/**
 * The isolate's key caches against docs/authentication.md ("Integration keys: where they live"): a found record is
 * trusted for 30 s (10,000 entries), a confirmed miss for 5 s in a cache of its own (10,000 entries), so no
 * number of made-up keys can evict a real key's record. The clock is the `nowMs` each call is given; the
 * stores are stand-ins that count their reads. The figures are the docs', written out, not the module's
 * constants, so a changed lifetime fails here until the docs say so too.
 */
import { describe, expect, it } from "vitest";
import type { KeyRecord } from "../../src/auth/key-record";
import { cachedKey, lookUpKey, type KeyStores } from "../../src/auth/key-store";

const POSITIVE_MS = 30_000;
const NEGATIVE_MS = 5_000;
const BOUND = 10_000;

const record = (keyId: string): KeyRecord => ({ keyId, tenantId: "t", name: "n", access: { psa: "read" }, createdAt: "2030-01-01T00:00:00.000Z", expiresAt: null, revokedAt: null });

/** A 64-hex-digit hash, distinct per `prefix` and `i`. */
const hashOf = (prefix: string, i = 0) => `${prefix}${i.toString(16).padStart(64 - prefix.length, "0")}`;

/** Stores that know `known` (hash -> record) in KV and nothing in the directory, counting reads. */
function stores(known: Map<string, KeyRecord> = new Map()) {
  const reads = { kv: 0, directory: 0 };
  const s = {
    kv: { get: async (name: string) => ((reads.kv += 1), known.get(name.slice(4)) ?? null) },
    directory: { getByName: () => ({ lookup: async () => ((reads.directory += 1), null) }) },
    kvTimeoutMs: 1_000,
    directoryTimeoutMs: 1_000,
  } as unknown as KeyStores;
  return { s, reads, known };
}

describe("key cache: lifetimes", () => {
  it("trusts a found record for 30 s after it was read, then knows nothing of it", async () => {
    const hash = hashOf("b");
    const { s } = stores(new Map([[hash, record("key_b000000000000000")]]));
    const readAt = 1_000_000;
    await lookUpKey(s, hash, readAt);
    expect(cachedKey(hash, readAt + POSITIVE_MS - 1)).toMatchObject({ keyId: "key_b000000000000000" });
    expect(cachedKey(hash, readAt + POSITIVE_MS)).toBeUndefined();
  });

  it("dates a record's 30 s from its latest read, not its first", async () => {
    const hash = hashOf("c");
    const { s } = stores(new Map([[hash, record("key_c000000000000000")]]));
    await lookUpKey(s, hash, 0);
    await lookUpKey(s, hash, 20_000);
    expect(cachedKey(hash, 20_000 + POSITIVE_MS - 1)).not.toBeUndefined();
    expect(cachedKey(hash, 20_000 + POSITIVE_MS)).toBeUndefined();
  });

  it("trusts a confirmed miss for 5 s only: asked after both KV and the directory, then forgotten", async () => {
    const hash = hashOf("d");
    const { s, reads } = stores();
    expect((await lookUpKey(s, hash, 0)).record).toBeNull();
    expect(reads).toEqual({ kv: 1, directory: 1 });
    expect(cachedKey(hash, NEGATIVE_MS - 1)).toBeNull();
    expect(cachedKey(hash, NEGATIVE_MS)).toBeUndefined();
  });

  it("replaces a confirmed miss with the record once a later lookup finds the key", async () => {
    const hash = hashOf("e");
    const { s, known } = stores();
    await lookUpKey(s, hash, 0);
    known.set(hash, record("key_e000000000000000"));
    await lookUpKey(s, hash, NEGATIVE_MS);
    expect(cachedKey(hash, NEGATIVE_MS + 1)).toMatchObject({ keyId: "key_e000000000000000" });
  });
});

describe("key cache: bounds", () => {
  it("holds 10,000 records and evicts the oldest for the next", async () => {
    const { s, known } = stores();
    for (let i = 0; i <= BOUND; i++) known.set(hashOf("a", i), record(`key_a${i.toString(16).padStart(15, "0")}`));
    for (let i = 0; i < BOUND; i++) await lookUpKey(s, hashOf("a", i), 0);
    for (const i of [0, BOUND - 1]) expect(cachedKey(hashOf("a", i), 1)).not.toBeUndefined();
    await lookUpKey(s, hashOf("a", BOUND), 0);
    expect(cachedKey(hashOf("a", 0), 1)).toBeUndefined();
    for (const i of [1, BOUND - 1, BOUND]) expect(cachedKey(hashOf("a", i), 1)).not.toBeUndefined();
  });

  it("keeps a real key cached through 20,000 confirmed misses, of which it holds the newest 10,000", async () => {
    const real = hashOf("9");
    const { s, reads } = stores(new Map([[real, record("key_9000000000000000")]]));
    const now = 1_000_000;
    expect((await lookUpKey(s, real, now)).record).toMatchObject({ keyId: "key_9000000000000000" });
    for (let i = 0; i < 2 * BOUND; i++) await lookUpKey(s, hashOf("f", i), now);
    expect(reads).toEqual({ kv: 2 * BOUND + 1, directory: 2 * BOUND });
    expect(cachedKey(real, now + 1)).toMatchObject({ keyId: "key_9000000000000000" });
    expect(cachedKey(hashOf("f", BOUND - 1), now + 1)).toBeUndefined();
    expect(cachedKey(hashOf("f", BOUND), now + 1)).toBeNull();
    expect(cachedKey(hashOf("f", 2 * BOUND - 1), now + 1)).toBeNull();
  });
});
