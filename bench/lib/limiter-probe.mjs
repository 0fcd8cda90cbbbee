/**
 * Bench-only entry module, loaded in front of the gateway bundle's own index.js (never deployed, never in
 * src/): the accuracy run reads the limiter's own admission times through it, and the fault run takes the
 * tenant limiter Durable Object down and brings it back while the gateway is under load. The gateway's code
 * is untouched; the object's decisions are the real TenantLimiter's.
 *
 *   GET  /__bench/limiter-admissions        the time of every admission since the last call, then forgets
 *                                           them: the isolate's clock when it admitted the request from a
 *                                           leased permit (the request log line's `admittedAt`), the clock
 *                                           the exactness guarantee is about
 *   POST /__bench/limiter-fault?mode=down   the object is reset (ctx.abort) and every new instance throws in
 *                                           its constructor: each RPC to it rejects, as with an object that
 *                                           cannot be reached or started
 *   POST /__bench/limiter-fault?mode=slow   exchange() answers after SLOW_MS, far past RATE_LIMIT_TIMEOUT_MS
 *   POST /__bench/limiter-fault?mode=none   back to normal: the next call constructs the object again from
 *                                           its SQLite storage
 *
 * This is module state: under workerd a Worker and its Durable Object classes share one isolate.
 */
import gateway, { TenantLimiter as Limiter } from "./index.js";

// Every other Durable Object class of the bundle, as the gateway exports it.
export { KeyDirectory } from "./index.js";

const SLOW_MS = 2000;
const MAX_RECORDED = 200_000; // bounds memory if nobody collects
let fault = "none";
let admissions = [];

export class TenantLimiter extends Limiter {
  constructor(ctx, env) {
    if (fault === "down") throw new Error("bench: tenant limiter is down");
    super(ctx, env);
  }

  async exchange(req) {
    if (fault === "down") this.ctx.abort("bench: tenant limiter taken down");
    if (fault === "slow") await new Promise((resolve) => setTimeout(resolve, SLOW_MS));
    return super.exchange(req);
  }
}

// The gateway writes one JSON line per request; an admitted one carries `admittedAt`. Read them on the way out.
const writeLog = console.log.bind(console);
console.log = (...args) => {
  const line = args[0];
  if (typeof line === "string" && line.includes('"admittedAt"') && admissions.length < MAX_RECORDED) {
    try {
      const at = JSON.parse(line).admittedAt;
      if (typeof at === "number") admissions.push(at);
    } catch {
      // not a request line
    }
  }
  writeLog(...args);
};

function bench(url) {
  if (url.pathname === "/__bench/limiter-admissions") {
    const out = admissions;
    admissions = [];
    return Response.json(out);
  }
  const mode = url.searchParams.get("mode");
  if (!["down", "slow", "none"].includes(mode)) return new Response("unknown mode\n", { status: 400 });
  fault = mode;
  return new Response(`limiter fault: ${fault}\n`);
}

export default {
  fetch(request, env, ctx) {
    const url = new URL(request.url);
    return url.pathname.startsWith("/__bench/") ? bench(url) : gateway.fetch(request, env, ctx);
  },
};
