/**
 * Test doubles at the storage boundary of integration keys, all delegating to the real bindings: a KV that
 * counts reads and can hide chosen names (a replica the write has not reached), fail its writes, or fail
 * or never answer its reads, and a key directory namespace that counts lookups or fails.
 */
import { env } from "cloudflare:workers";
import { generateIntegrationKey } from "../../src/auth/integration-key";
import { hashKey, newKeyId, shardForHash, type KeyRecord } from "../../src/auth/key-record";
import { never, unavailableObject } from "./silent-bindings";

export interface KvOptions {
  /** Names this replica does not show yet (answered as misses). */
  hidden?: (name: string) => boolean;
  /** Values this replica still serves from before a write (name -> the old JSON value). */
  stale?: Map<string, unknown>;
  /** Makes every put fail, as a KV outage would. */
  failPuts?: boolean;
  /** Makes every get fail (`"fail"`) or never answer (`"hang"`), as a KV outage would. */
  gets?: "fail" | "hang";
}

/** A KV binding over the real one that counts get calls and applies `options`. */
export function wrappedKv(options: KvOptions = {}) {
  const counts = { get: 0, put: 0 };
  const kv = new Proxy(env.KEYS, {
    get(target, prop) {
      const value: unknown = Reflect.get(target, prop, target);
      if (typeof value !== "function") return value;
      return (...args: unknown[]) => {
        if (prop === "get") {
          counts.get += 1;
          if (options.gets === "fail") return Promise.reject(new Error("KV get failed"));
          if (options.gets === "hang") return never();
          const name = args[0] as string;
          if (options.hidden?.(name) === true) return Promise.resolve(null);
          if (options.stale?.has(name) === true) return Promise.resolve(args[1] === "json" ? options.stale.get(name) : JSON.stringify(options.stale.get(name)));
        }
        if (prop === "put") {
          counts.put += 1;
          if (options.failPuts === true) return Promise.reject(new Error("KV put failed"));
        }
        return (value as (...a: unknown[]) => unknown).apply(target, args);
      };
    },
  });
  return { kv, counts };
}

type Directory = Env["KEY_DIRECTORY"];

/** A key directory namespace whose stubs count `lookup` calls (any other call passes through). */
export function countingDirectory(): { directory: Directory; lookups: () => number } {
  let lookups = 0;
  const directory = {
    getByName(name: string) {
      const real = env.KEY_DIRECTORY.getByName(name);
      return new Proxy(real, {
        get(target, prop) {
          if (prop === "lookup") {
            return (hash: string) => {
              lookups += 1;
              return target.lookup(hash);
            };
          }
          return Reflect.get(target, prop, target);
        },
      });
    },
  } as unknown as Directory;
  return { directory, lookups: () => lookups };
}

/** A key directory namespace whose every call rejects as an unreachable object does (an outage), or never settles (`hang`). */
export function brokenDirectory(hang = false, flags?: Record<string, boolean>): Directory {
  const fail = () => (hang ? never() : Promise.reject(unavailableObject(flags)));
  return { getByName: () => new Proxy({}, { get: () => fail }) } as unknown as Directory;
}

/** A client address (CF-Connecting-IP, in the IPv6 documentation prefix) no other test uses, so its unknown-key budget is its own. */
export function freshAddress(): string {
  const hex = crypto.randomUUID().replaceAll("-", "");
  return `2001:db8:${hex.slice(0, 4)}:${hex.slice(4, 8)}::${hex.slice(8, 12)}`;
}

/** A key written to the directory only, as an admin call in another location leaves it before KV has it here. */
export async function directoryOnlyKey(t: string, access: KeyRecord["access"] = { psa: "read" }, key = generateIntegrationKey()) {
  const hash = await hashKey(key);
  const record: KeyRecord = { keyId: newKeyId(hash), tenantId: t, name: "fresh", access, createdAt: new Date().toISOString(), expiresAt: null, revokedAt: null };
  await env.KEY_DIRECTORY.getByName(shardForHash(hash)).create(hash, record);
  return { key, hash, record };
}
