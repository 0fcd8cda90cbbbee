/**
 * The isolate's key-cache lifetimes through the Worker (docs/authentication.md, "Integration keys: where they live"): a
 * record read is trusted for 30 s, a confirmed miss for 5 s, counted in the reads the Worker makes of KV and
 * the directory. The key clock is injected (`setKeyClock`); the bounds of 10,000 entries each are checked
 * on the cache itself (test/unit/key-cache.test.ts), as filling them through the Worker would take minutes.
 */
import { env } from "cloudflare:workers";
import { afterEach, describe, expect, it } from "vitest";
import { generateIntegrationKey } from "../../src/auth/integration-key";
import { writeKeyToKv } from "../../src/auth/key-kv";
import { shardForKeyId } from "../../src/auth/key-record";
import { setKeyClock } from "../../src/auth/key-store";
import { createKey, envelope, recorded, rid, tenant } from "../support/gateway";
import { countingDirectory, directoryOnlyKey, freshAddress, wrappedKv } from "../support/key-stores";
import { callWith, envWith } from "../support/worker";

afterEach(() => setKeyClock(null));

/** Stores that count the Worker's reads, and a request through them at key-clock time `atMs`. */
function countedStores() {
  const { kv, counts } = wrappedKv();
  const dir = countingDirectory();
  const address = freshAddress();
  const gateway = envWith({ KEYS: kv, KEY_DIRECTORY: dir.directory });
  return {
    reads: () => ({ kv: counts.get, directory: dir.lookups() }),
    async send(key: string, atMs: number) {
      setKeyClock(() => atMs);
      const id = rid("kcache");
      const res = await callWith(gateway, "/psa/tickets", { headers: { "x-integration-key": key, "x-request-id": id, "cf-connecting-ip": address } });
      const code = res.ok ? null : (await envelope(res)).code;
      return { status: res.status, code, forwarded: (await recorded("psa", id)).length };
    },
  };
}

describe("key cache through the Worker", () => {
  it("admits a key revoked while its tenant's limiter was down from its cached record for 30 s, then reads KV and refuses it", async () => {
    const t = tenant("kcache-pos");
    const { key, keyId } = await createKey(t, { psa: "read" });
    const stores = countedStores();
    const readAt = Date.now();
    expect(await stores.send(key, readAt)).toMatchObject({ status: 200, forwarded: 1 });
    expect(stores.reads()).toEqual({ kv: 1, directory: 0 });
    // Revoked in the directory and KV (as an admin call elsewhere does when the limiter does not answer):
    // nothing tells this isolate but its cached record's end.
    const revoked = await env.KEY_DIRECTORY.getByName(shardForKeyId(keyId)).revoke(t, keyId);
    if (revoked === null) throw new Error("the directory does not know the key");
    await writeKeyToKv(env.KEYS, revoked.hash, revoked.record);
    expect(await stores.send(key, readAt + 29_999)).toMatchObject({ status: 200, forwarded: 1 });
    expect(stores.reads()).toEqual({ kv: 1, directory: 0 });
    expect(await stores.send(key, readAt + 30_000)).toEqual({ status: 401, code: "UNAUTHORIZED", forwarded: 0 });
    expect(stores.reads()).toEqual({ kv: 2, directory: 0 });
  });

  it("answers a confirmed miss from the isolate for 5 s, so a key created meanwhile works here from 5 s on", async () => {
    const t = tenant("kcache-neg");
    const key = generateIntegrationKey();
    const stores = countedStores();
    const missAt = Date.now();
    expect(await stores.send(key, missAt)).toEqual({ status: 401, code: "UNAUTHORIZED", forwarded: 0 });
    expect(stores.reads()).toEqual({ kv: 1, directory: 1 });
    await directoryOnlyKey(t, { psa: "read" }, key); // created elsewhere: in the directory, not yet in KV
    expect(await stores.send(key, missAt + 4_999)).toEqual({ status: 401, code: "UNAUTHORIZED", forwarded: 0 });
    expect(stores.reads()).toEqual({ kv: 1, directory: 1 });
    expect(await stores.send(key, missAt + 5_000)).toMatchObject({ status: 200, forwarded: 1 });
    expect(stores.reads()).toEqual({ kv: 2, directory: 2 });
  });
});
