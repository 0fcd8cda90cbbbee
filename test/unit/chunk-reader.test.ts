/**
 * The body reader the proxy reads uploads and downloads with (src/proxy/timed-read.ts): from a byte stream
 * it takes what has arrived, up to 128 KiB a read, and copies out a small read so that a trickle cannot pin
 * a 128 KiB buffer per chunk; a stream built in JavaScript is read the default way.
 */
import { describe, expect, it } from "vitest";
import { chunkReader } from "../../src/proxy/timed-read";

async function readAll(stream: ReadableStream<Uint8Array>): Promise<Uint8Array[]> {
  const reader = chunkReader(stream);
  const chunks: Uint8Array[] = [];
  for (;;) {
    const r = await reader.read();
    if (r.done) return chunks;
    chunks.push(r.value);
  }
}

/** A native byte stream whose bytes arrive in pieces of the given sizes, as a socket delivers them. */
function arriving(sizes: number[]): ReadableStream<Uint8Array> {
  const { readable, writable } = new IdentityTransformStream();
  const writer = writable.getWriter();
  void (async () => {
    for (const [i, n] of sizes.entries()) await writer.write(new Uint8Array(n).fill(i % 251));
    await writer.close();
  })();
  return readable as ReadableStream<Uint8Array>;
}

describe("chunkReader", () => {
  it("reads a native byte stream up to 128 KiB at a time, every byte in order", async () => {
    const chunks = await readAll(arriving([300_000, 4096, 200_000]));
    expect(chunks.reduce((n, c) => n + c.byteLength, 0)).toBe(504_096);
    // Whole 128 KiB reads where that much has arrived (workerd's default reader hands out 4 KiB), never more.
    // Whole 128 KiB reads where that much has arrived, never more: 3 + 1 + 2 reads for these three arrivals
    // (workerd's default reader hands out 4 KiB pieces: over a hundred).
    expect(Math.max(...chunks.map((c) => c.byteLength))).toBe(128 * 1024);
    expect(chunks.length).toBeLessThanOrEqual(6);
    const joined = new Uint8Array(504_096);
    let at = 0;
    for (const c of chunks) {
      joined.set(c, at);
      at += c.byteLength;
    }
    expect([joined[0], joined[299_999], joined[300_000], joined[304_095], joined[304_096], joined[504_095]]).toEqual([0, 0, 1, 1, 2, 2]);
  });

  it("copies a small read out of its 128 KiB buffer", async () => {
    const chunks = await readAll(arriving([10, 20, 30]));
    expect(chunks.reduce((n, c) => n + c.byteLength, 0)).toBe(60);
    for (const c of chunks) expect(c.buffer.byteLength).toBe(c.byteLength);
  });

  it("keeps a large read in its buffer (no copy)", async () => {
    // 100 KiB read into a 128 KiB buffer: a copy would have a buffer of its own size.
    const chunks = await readAll(arriving([100 * 1024]));
    expect(chunks.map((c) => [c.byteLength, c.buffer.byteLength])).toEqual([[100 * 1024, 128 * 1024]]);
  });

  it("with reuse, refills one buffer: each read takes over the previous chunk's memory, every byte in order", async () => {
    const reader = chunkReader(arriving([300_000, 4096, 200_000]), { reuse: true });
    const firsts: number[] = [];
    const sizes: number[] = [];
    let total = 0;
    let previous: Uint8Array | null = null;
    for (;;) {
      const r = await reader.read();
      // The previous chunk's buffer was handed to this read (transferred, so detached where it was).
      if (previous !== null) expect(previous.buffer.byteLength).toBe(0);
      if (r.done) break;
      // One 256 KiB buffer (REUSED_READ_BYTES), filled as far as has arrived.
      expect(r.value.buffer.byteLength).toBe(256 * 1024);
      sizes.push(r.value.byteLength);
      firsts.push(r.value[0] ?? -1, r.value[r.value.byteLength - 1] ?? -1);
      total += r.value.byteLength;
      previous = r.value;
    }
    expect(total).toBe(504_096);
    // The 300,000-byte arrival takes one full 256 KiB read, not two or three of 128 KiB.
    expect(sizes[0]).toBe(256 * 1024);
    expect(sizes.length).toBeLessThanOrEqual(5);
    // Arrivals are filled with 0, 1, 2: no chunk mixes two arrivals' bytes out of order.
    expect(firsts).toEqual([...firsts].sort((a, b) => a - b));
    expect(new Set(firsts)).toEqual(new Set([0, 1, 2]));
  });

  it("without reuse, leaves each chunk's buffer to its reader", async () => {
    const reader = chunkReader(arriving([200_000, 200_000]));
    const first = await reader.read();
    await reader.read();
    expect(first.value?.buffer.byteLength).toBe(128 * 1024);
  });

  it("reads a stream built in JavaScript the default way, chunk for chunk", async () => {
    const stream = new ReadableStream<Uint8Array>({
      start(controller) {
        controller.enqueue(new Uint8Array([1, 2]));
        controller.enqueue(new Uint8Array([3]));
        controller.close();
      },
    });
    expect((await readAll(stream)).map((c) => [...c])).toEqual([[1, 2], [3]]);
  });
});
