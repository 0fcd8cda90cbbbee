/**
 * Bench-only main module of the edge section's limiter service (never deployed, never in src/): it defines
 * the Durable Object class the gateway services bind as TENANT_LIMITER, as an object in another region.
 * The decisions are the bundle's own TenantLimiter's; every call from outside the object pays a one-way
 * delay D in each direction and is counted per method:
 *
 *   call -> await D (the request travelling; the object's clock is read after the send) -> the real
 *   method -> await D (the answer travelling, also for a throw) -> the caller
 *
 * The methods are found at start-up, not listed: every function on the real class's prototype chain below
 * DurableObject (whatever the protocol is: `admit` today, lease calls later). The object is a facade that
 * holds the real instance and forwards to it, rather than a subclass: the real class calls its own helpers
 * through `this` (TypeScript `private` is not private at run time), and a subclass would delay and count
 * those internal calls too. Runtime handlers (alarm, WebSocket events) are forwarded without delay: no
 * gateway sends them. Calls on RPC targets an answer may carry are not seen here.
 *
 * The key directory (KeyDirectory) gets the same facade, the same delay (it is an object somewhere else
 * too) and counts of its own, so the limiter's figures stay the limiter's.
 *
 * This service's own socket (module state: the object's instances run in this isolate):
 *   GET  /__edge/calls            {"exchange": n, ...}: TenantLimiter calls since the last reset
 *   GET  /__edge/calls?tenant=T   the same, served by tenant T's object only (`getByName(T)`), since it
 *                                 was first called: rows of several tenants at once each count their own
 *   GET  /__edge/directory-calls  {"lookup": n, ...}: KeyDirectory calls since the last reset
 *   POST /__edge/reset            both counts back to zero
 *   POST /__edge/delay?ms=D     the one-way delay from now on (0 to 10,000 ms)
 */
import { DurableObject } from "cloudflare:workers";
import { KeyDirectory as RealDirectory, TenantLimiter as Real } from "./index.js";

export * from "./index.js"; // any other class the bundle exports stays available; TenantLimiter and KeyDirectory are ours

const RUNTIME_HANDLERS = new Set(["alarm", "webSocketMessage", "webSocketClose", "webSocketError"]);
let delayMs = 0;
const counts = { limiter: new Map(), directory: new Map() }; // method name -> calls since the last reset
const limiterByObject = new Map(); // object id (hex) -> method name -> calls, never reset
const reals = new WeakMap(); // facade -> the real object
const travel = () => (delayMs > 0 ? new Promise((resolve) => setTimeout(resolve, delayMs)) : Promise.resolve());

/** Every method name on `proto` and its parents, below DurableObject: what a caller can invoke over RPC. */
function methodNames(proto) {
  const names = new Set();
  for (let p = proto; p && p !== DurableObject.prototype && p !== Object.prototype; p = Object.getPrototypeOf(p)) {
    for (const name of Object.getOwnPropertyNames(p)) {
      if (name !== "constructor" && typeof Object.getOwnPropertyDescriptor(p, name).value === "function") names.add(name);
    }
  }
  return names;
}

const bump = (calls, name) => calls.set(name, (calls.get(name) ?? 0) + 1);

/**
 * A facade class over `RealClass` that delays and counts (in `calls`, and per object in `byObject` when
 * given) every method a caller can invoke.
 */
function facade(RealClass, calls, byObject) {
  const ids = new WeakMap(); // facade -> its object's id (hex)
  class Facade extends DurableObject {
    constructor(ctx, env) {
      super(ctx, env);
      reals.set(this, new RealClass(ctx, env));
      ids.set(this, ctx.id.toString());
    }
  }
  for (const name of methodNames(RealClass.prototype)) {
    const forward = RUNTIME_HANDLERS.has(name)
      ? function (...args) {
          return reals.get(this)[name](...args);
        }
      : async function (...args) {
          bump(calls, name);
          if (byObject) {
            const id = ids.get(this);
            if (!byObject.has(id)) byObject.set(id, new Map());
            bump(byObject.get(id), name);
          }
          await travel();
          try {
            return await reals.get(this)[name](...args);
          } finally {
            await travel();
          }
        };
    Object.defineProperty(Facade.prototype, name, { value: forward, writable: true, configurable: true });
  }
  return Facade;
}

export const TenantLimiter = facade(Real, counts.limiter, limiterByObject);
export const KeyDirectory = facade(RealDirectory, counts.directory);

export default {
  async fetch(request, env) {
    const url = new URL(request.url);
    const tenant = url.searchParams.get("tenant");
    if (url.pathname === "/__edge/calls" && tenant !== null) {
      return Response.json(Object.fromEntries(limiterByObject.get(env.TENANT_LIMITER.idFromName(tenant).toString()) ?? []));
    }
    if (url.pathname === "/__edge/calls") return Response.json(Object.fromEntries(counts.limiter));
    if (url.pathname === "/__edge/directory-calls") return Response.json(Object.fromEntries(counts.directory));
    if (url.pathname === "/__edge/reset" && request.method === "POST") {
      for (const c of Object.values(counts)) c.clear();
      return Response.json({ ok: true });
    }
    if (url.pathname === "/__edge/delay" && request.method === "POST") {
      const ms = Number(url.searchParams.get("ms"));
      if (!Number.isInteger(ms) || ms < 0 || ms > 10_000) return new Response("ms must be an integer from 0 to 10000\n", { status: 400 });
      delayMs = ms;
      return Response.json({ delayMs });
    }
    return new Response("not found\n", { status: 404 });
  },
};
