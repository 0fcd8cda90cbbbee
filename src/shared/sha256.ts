/** The one SHA-256 and the one hex encoding: key hashes, key ids and constant-time secret comparison use them. */

/** SHA-256 of the UTF-8 bytes of `text`. */
export function sha256(text: string): Promise<ArrayBuffer> {
  return crypto.subtle.digest("SHA-256", new TextEncoder().encode(text));
}

/** Lowercase hex of `bytes`, two digits a byte. */
export function toHex(bytes: ArrayBuffer | Uint8Array): string {
  return [...(bytes instanceof Uint8Array ? bytes : new Uint8Array(bytes))].map((b) => b.toString(16).padStart(2, "0")).join("");
}

/** Lowercase hex SHA-256 of `text`. */
export async function sha256Hex(text: string): Promise<string> {
  return toHex(await sha256(text));
}
