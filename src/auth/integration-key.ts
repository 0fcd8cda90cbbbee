/**
 * Integration key format: `osk_` + 24 base62 characters of randomness (~143 bits) + a 6-character base62
 * CRC-32 of those 24. The prefix lets secret scanners recognize a leaked key; the checksum lets the gateway
 * refuse a mistyped or truncated key with no storage lookup. It stops typos, not adversaries: anyone can
 * compute a CRC-32, so made-up keys that pass it are bounded by the unknown-key budget per client address
 * (src/security/address-limit.ts). Keys are stored only as their SHA-256 (./key-record.ts, `hashKey`).
 * Imports nothing, so tools outside the Worker (the bench) can load it as it is.
 */

export const KEY_PREFIX = "osk_";
const RANDOM_LENGTH = 24;
const CHECKSUM_LENGTH = 6;
const ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
const KEY_SHAPE = new RegExp(`^${KEY_PREFIX}[0-9A-Za-z]{${RANDOM_LENGTH + CHECKSUM_LENGTH}}$`);

const CRC_TABLE = (() => {
  const table = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    table[n] = c >>> 0;
  }
  return table;
})();

function crc32(text: string): number {
  let crc = 0xffffffff;
  for (let i = 0; i < text.length; i++) crc = (CRC_TABLE[(crc ^ text.charCodeAt(i)) & 0xff] ?? 0) ^ (crc >>> 8);
  return (crc ^ 0xffffffff) >>> 0;
}

function base62(value: number, width: number): string {
  let out = "";
  let v = value;
  for (let i = 0; i < width; i++) {
    out = ALPHABET[v % 62] + out;
    v = Math.floor(v / 62);
  }
  return out;
}

function checksum(random: string): string {
  return base62(crc32(random), CHECKSUM_LENGTH);
}

/** A new key's plaintext. Rejection sampling keeps every character uniform over the 62-letter alphabet. */
export function generateIntegrationKey(): string {
  let random = "";
  while (random.length < RANDOM_LENGTH) {
    for (const byte of crypto.getRandomValues(new Uint8Array(32))) {
      if (byte < 248 && random.length < RANDOM_LENGTH) random += ALPHABET[byte % 62];
    }
  }
  return `${KEY_PREFIX}${random}${checksum(random)}`;
}

/** True when the value has the key's shape and its checksum matches: only then is storage consulted. */
export function isWellFormedKey(value: string): boolean {
  if (!KEY_SHAPE.test(value)) return false;
  const body = value.slice(KEY_PREFIX.length);
  return checksum(body.slice(0, RANDOM_LENGTH)) === body.slice(RANDOM_LENGTH);
}
