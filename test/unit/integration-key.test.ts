import { describe, expect, it } from "vitest";
import { generateIntegrationKey, isWellFormedKey, KEY_PREFIX } from "../../src/auth/integration-key";
import { hashKey } from "../../src/auth/key-record";
import { isUsable, type KeyRecord } from "../../src/auth/key-record";

const ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

describe("integration key format", () => {
  it("generates osk_ + 30 base62 characters that pass their own checksum", () => {
    for (let i = 0; i < 200; i++) {
      const key = generateIntegrationKey();
      expect(key).toMatch(/^osk_[0-9A-Za-z]{30}$/);
      expect(isWellFormedKey(key)).toBe(true);
    }
  });

  it("never generates the same key twice in a large sample", () => {
    const keys = new Set(Array.from({ length: 2000 }, () => generateIntegrationKey()));
    expect(keys.size).toBe(2000);
  });

  it("uses the whole base62 alphabet for the random part", () => {
    const seen = new Set<string>();
    for (let i = 0; i < 500; i++) for (const ch of generateIntegrationKey().slice(KEY_PREFIX.length, KEY_PREFIX.length + 24)) seen.add(ch);
    expect(seen.size).toBe(62);
  });

  it("detects every single-character substitution anywhere after the prefix", () => {
    const key = generateIntegrationKey();
    for (let pos = KEY_PREFIX.length; pos < key.length; pos++) {
      for (const ch of ALPHABET) {
        if (ch === key[pos]) continue;
        const typo = key.slice(0, pos) + ch + key.slice(pos + 1);
        expect(isWellFormedKey(typo), `${typo} (position ${pos})`).toBe(false);
      }
    }
  });

  it("detects two adjacent characters swapped", () => {
    const key = generateIntegrationKey();
    for (let pos = KEY_PREFIX.length; pos < key.length - 1; pos++) {
      if (key[pos] === key[pos + 1]) continue;
      const swapped = key.slice(0, pos) + key[pos + 1] + key[pos] + key.slice(pos + 2);
      expect(isWellFormedKey(swapped), swapped).toBe(false);
    }
  });

  it.each([
    ["empty", ""],
    ["prefix only", "osk_"],
    ["uppercase prefix", (k: string) => `OSK_${k.slice(4)}`],
    ["other prefix", (k: string) => `osx_${k.slice(4)}`],
    ["no prefix", (k: string) => k.slice(4)],
    ["one character short", (k: string) => k.slice(0, -1)],
    ["one character long", (k: string) => `${k}A`],
    ["leading space", (k: string) => ` ${k}`],
    ["trailing newline", (k: string) => `${k}\n`],
    ["non-base62 character", (k: string) => `${k.slice(0, 10)}-${k.slice(11)}`],
    ["non-ASCII look-alike", (k: string) => `${k.slice(0, 10)}\u0410${k.slice(11)}`],
    ["oversized", (k: string) => k + "A".repeat(100_000)],
  ])("refuses a key that is %s", (_label, make) => {
    const value = typeof make === "string" ? make : make(generateIntegrationKey());
    expect(isWellFormedKey(value)).toBe(false);
  });
});

describe("hashKey", () => {
  it("is the lowercase hex SHA-256 of the key", async () => {
    // FIPS 180-2 test vector for "abc".
    expect(await hashKey("abc")).toBe("ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  });

  it("never contains the plaintext", async () => {
    const key = generateIntegrationKey();
    const hash = await hashKey(key);
    expect(hash).toMatch(/^[0-9a-f]{64}$/);
    expect(hash).not.toContain(key.slice(KEY_PREFIX.length, KEY_PREFIX.length + 8));
  });
});

describe("isUsable", () => {
  const now = Date.parse("2030-01-01T00:00:00Z");
  const record = (over: Partial<KeyRecord>): KeyRecord => ({
    keyId: "key_0000000000000000",
    tenantId: "t1",
    name: "k",
    access: { psa: "read" },
    createdAt: "2029-01-01T00:00:00.000Z",
    expiresAt: null,
    revokedAt: null,
    ...over,
  });

  it("accepts a key with no expiry and no revocation", () => {
    expect(isUsable(record({}), now)).toBe(true);
  });

  it("accepts a key until the instant it expires and refuses it from then on", () => {
    const r = record({ expiresAt: new Date(now).toISOString() });
    expect(isUsable(r, now - 1)).toBe(true);
    expect(isUsable(r, now)).toBe(false);
    expect(isUsable(r, now + 1)).toBe(false);
  });

  it("refuses a revoked key even before its expiry", () => {
    expect(isUsable(record({ revokedAt: "2029-06-01T00:00:00.000Z", expiresAt: "2031-01-01T00:00:00.000Z" }), now)).toBe(false);
  });

  it("refuses a record whose expiry is unreadable", () => {
    expect(isUsable(record({ expiresAt: "not a date" }), now)).toBe(false);
  });
});
