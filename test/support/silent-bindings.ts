/**
 * Stand-ins at the binding boundary that never answer, for tests of a deadline's expiry: the only way a
 * request that waits on one of them ends is the gateway's own deadline, so the time it took is that deadline.
 */
import { env } from "cloudflare:workers";

let unanswered = 0;

/** A promise that never settles: a call the far side never answers. Each is counted (`unansweredCalls`). */
export const never = () => {
  unanswered += 1;
  return new Promise<never>(() => {});
};

/**
 * An error as the runtime rejects a call to a Durable Object it cannot reach: `retryable` by default, or the
 * flags given (`overloaded`, `durableObjectReset`); never `remote`, which marks an error the object's own code threw.
 */
export function unavailableObject(flags: Record<string, boolean> = { retryable: true }): Error {
  return Object.assign(new Error("Network connection lost."), flags);
}

/**
 * Runs `fn` while `method` of every object of class `cls` throws a TypeError with `message` from the
 * object's own code: a bug in a Durable Object, run for real, whose error comes back over RPC as the
 * runtime sends it (`remote`). The method is restored afterwards.
 */
export async function withObjectBug<T>(cls: { prototype: object }, method: string, message: string, fn: () => Promise<T>): Promise<T> {
  const real = Object.getOwnPropertyDescriptor(cls.prototype, method) as PropertyDescriptor;
  Object.defineProperty(cls.prototype, method, {
    ...real,
    value: () => {
      throw new TypeError(message);
    },
  });
  try {
    return await fn();
  } finally {
    Object.defineProperty(cls.prototype, method, real);
  }
}

/** How many calls stand-ins have left unanswered so far: one more means a request has begun to wait. */
export function unansweredCalls(): number {
  return unanswered;
}

/** A Workers Rate Limiting binding whose `limit` never answers. */
export function silentRateLimit(): RateLimit {
  return { limit: never } as unknown as RateLimit;
}

type Limiter = Env["TENANT_LIMITER"];

/**
 * A TENANT_LIMITER namespace whose stubs never answer the RPC methods named; every other call goes to the
 * real object. `asked` counts the calls left unanswered, so a test knows when the wait has begun.
 */
export function silentLimiter(...methods: string[]): Limiter & { asked: number } {
  const unanswered = () => {
    namespace.asked += 1;
    return never();
  };
  const silenced = (real: ReturnType<Limiter["get"]>) =>
    new Proxy(real, { get: (target, prop) => (typeof prop === "string" && methods.includes(prop) ? unanswered : Reflect.get(target, prop, target)) });
  const namespace = {
    asked: 0,
    getByName: (name: string) => silenced(env.TENANT_LIMITER.getByName(name)),
    idFromName: (name: string) => env.TENANT_LIMITER.idFromName(name),
    get: (id: DurableObjectId) => silenced(env.TENANT_LIMITER.get(id)),
  };
  return namespace as unknown as Limiter & { asked: number };
}
