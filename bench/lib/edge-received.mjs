/**
 * Bench-only entry module of the edge section's gateway services in the sparse rows (never deployed, never
 * in src/), loaded in front of the bundle's own index.js: it logs when the isolate received each request,
 * `{"msg":"bench-received","requestId":...,"receivedAt":ms}`, on the isolate's clock (the clock the gateway's
 * `admittedAt` is on), then hands the request to the gateway untouched. The exact sliding-log oracle is
 * computed from these times: the earliest moment any limiter in the isolate could decide on the request.
 * The gateway's own log line carries no receive time, and refused requests no time at all.
 */
import gateway from "./index.js";

export * from "./index.js"; // the bundle's Durable Object classes, as it exports them

export default {
  fetch(request, env, ctx) {
    console.log(JSON.stringify({ msg: "bench-received", requestId: request.headers.get("x-request-id"), receivedAt: Date.now() }));
    return gateway.fetch(request, env, ctx);
  },
};
