/**
 * Concurrent lookups of one uncached key hash share one KV read and one directory call; lookups of other
 * hashes, and lookups after the shared one settled, do not wait for it.
 */
import { describe, expect, it } from "vitest";
import type { KeyRecord } from "../../src/auth/key-record";
import { lookUpKey, type KeyStores } from "../../src/auth/key-store";
import { unavailableObject } from "../support/silent-bindings";

const found: KeyRecord = { keyId: "key_c000000000000000", tenantId: "t", name: "n", access: { psa: "read" }, createdAt: "2030-01-01T00:00:00.000Z", expiresAt: null, revokedAt: null };

/** KV misses every hash once `open()` is called; the directory knows every hash, or fails when `failing`. */
function gatedStores(failing = false) {
  const calls = { kv: [] as string[], directory: 0 };
  let open: () => void = () => undefined;
  const gate = new Promise<void>((resolve) => (open = resolve));
  const stores = {
    kv: {
      async get(name: string) {
        calls.kv.push(name);
        await gate;
        return null;
      },
    },
    directory: {
      getByName: () => ({
        async lookup() {
          calls.directory += 1;
          if (failing) throw unavailableObject();
          return found;
        },
      }),
    },
    kvTimeoutMs: 1_000,
    directoryTimeoutMs: 1_000,
  } as unknown as KeyStores;
  return { stores, calls, open: () => open() };
}

describe("key lookups in flight", () => {
  it("serves four concurrent lookups of one new hash with one KV read and one directory call", async () => {
    const { stores, calls, open } = gatedStores();
    const hash = "c".repeat(64);
    const pending = Promise.all([1, 2, 3, 4].map(() => lookUpKey(stores, hash, 0)));
    open();
    expect((await pending).map((lookup) => lookup.record)).toEqual([found, found, found, found]);
    expect(calls).toEqual({ kv: [`key:${hash}`], directory: 1 });
  });

  it("does not make a lookup of another hash wait for, or share, one under way", async () => {
    const { stores, calls, open } = gatedStores();
    const [a, b] = ["d".repeat(64), "e".repeat(64)];
    const pending = Promise.all([lookUpKey(stores, a, 0), lookUpKey(stores, b, 0)]);
    open();
    await pending;
    expect(calls.kv.sort()).toEqual([`key:${a}`, `key:${b}`]);
  });

  it("shares a failed lookup's 503 with its waiters, then lets the next request look again", async () => {
    const { stores, calls, open } = gatedStores(true);
    const hash = "9".repeat(64);
    const pending = Promise.allSettled([lookUpKey(stores, hash, 0), lookUpKey(stores, hash, 0)]);
    open();
    const settled = await pending;
    expect(settled.map((s) => (s.status === "rejected" ? (s.reason as { code?: string }).code : s.status))).toEqual(["SERVICE_UNAVAILABLE", "SERVICE_UNAVAILABLE"]);
    expect(calls.directory).toBe(1);
    await expect(lookUpKey(stores, hash, 0)).rejects.toMatchObject({ code: "SERVICE_UNAVAILABLE" });
    expect(calls.directory).toBe(2);
  });
});
