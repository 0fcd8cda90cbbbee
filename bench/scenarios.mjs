/**
 * The benchmark scenarios, as data. Each entry:
 *
 *   name         unique, shown in the table
 *   target       "ref-pass" | "ref-do" | "gateway"   (which server it loads)
 *   method, path the request; path is relative to the target's origin
 *   headers      object, or (ctx) => object  (ctx is what provision() returned, see provision.mjs)
 *   body         undefined | string | { bytes: n }   ({bytes} = n random bytes, generated once)
 *   variants     optional (ctx) => [{ path?, headers? }]: requests cycle through these (e.g. 1,000 tenants)
 *   connections  concurrent keep-alive connections
 *   duration     seconds (default: the run's; --quick shortens every run)
 *   maxRequests  optional cap on requests (default: a generous cap per second of duration)
 *   expect       { status, upstream }: the status every response should have, and whether each one must
 *                reach the upstream exactly once (for duplicate/loss counts)
 *   compareTo    a shape name: ratios are taken against ref-pass and ref-do runs of that shape
 *   needs        optional ctx key: the scenario is skipped (and says why) until provision() supplies it
 *   quick        included in --quick
 *
 * Every request also carries a unique X-Request-Id (bench-<run>-<scenario>-<n>), set by the load generator.
 */

export const TENANTS = 1000;
const tenantVariants = () => Array.from({ length: TENANTS }, (_, i) => ({ headers: { "x-tenant": `bench-tenant-${i}` } }));

/** Request shapes the references are run in; gateway scenarios compare to one of them. */
export const shapes = {
  "get-c1": { method: "GET", path: "/psa/tickets", connections: 1 },
  "get-c32": { method: "GET", path: "/psa/tickets", connections: 32, quick: true },
  "get-c32-1000t": { method: "GET", path: "/psa/tickets", connections: 32, variants: tenantVariants },
  "post-1mb-c4": {
    method: "POST",
    path: "/psa/tickets/42/attachments",
    headers: { "content-type": "application/octet-stream" },
    body: { bytes: 1 << 20 },
    connections: 4,
    quick: true,
  },
};

/** Both references in one shape: the floor (pass-through) and the physical limit (pass-through + 1 DO RPC). */
function references(shape) {
  const s = shapes[shape];
  return ["ref-pass", "ref-do"].map((target) => ({
    ...s,
    name: `${target}/${shape}`,
    target,
    headers: { "x-tenant": "bench-tenant-0", ...s.headers },
    expect: { status: 200, upstream: true },
    compareTo: shape,
  }));
}

/** A gateway scenario built on a shape: same method, path, body and connections unless overridden. */
function gateway(name, shape, fields) {
  return { ...shapes[shape], quick: false, name: `gateway/${name}`, target: "gateway", compareTo: shape, ...fields };
}

export const scenarios = [
  ...Object.keys(shapes).flatMap(references),

  // Answered by the gateway itself, before the upstream and before the limiter: work without provision().
  gateway("unauthenticated-401", "get-c32", { expect: { status: 401, upstream: false }, quick: true }),
  gateway("unknown-path-404", "get-c32", { path: "/no-such-product/x", expect: { status: 404, upstream: false } }),

  // Admitted traffic with an integration key (warm key cache, one limiter RPC, proxied).
  gateway("integration-key-c1", "get-c1", {
    needs: "integrationKeyHeaders",
    headers: (ctx) => ctx.integrationKeyHeaders,
    expect: { status: 200, upstream: true },
  }),
  gateway("integration-key-c32", "get-c32", {
    needs: "integrationKeyHeaders",
    headers: (ctx) => ctx.integrationKeyHeaders,
    expect: { status: 200, upstream: true },
    quick: true,
  }),
  gateway("post-1mb", "post-1mb-c4", {
    needs: "integrationKeyHeaders",
    headers: (ctx) => ({ ...shapes["post-1mb-c4"].headers, ...ctx.integrationKeyHeaders }),
    expect: { status: 200, upstream: true },
    quick: true,
  }),

  // Scenarios with `needs` are skipped, with a note, until provision() returns that ctx field.
  gateway("session-jwt-c32", "get-c32", {
    needs: "sessionJwtHeaders",
    headers: (ctx) => ctx.sessionJwtHeaders,
    expect: { status: 200, upstream: true },
  }),
  gateway("over-limit-429", "get-c32", {
    needs: "overLimitHeaders",
    headers: (ctx) => ctx.overLimitHeaders,
    expect: { status: 429, upstream: false },
  }),
  gateway("1000-tenants", "get-c32-1000t", {
    needs: "tenantHeaders",
    variants: (ctx) => ctx.tenantHeaders.map((headers) => ({ headers })),
    expect: { status: 200, upstream: true },
  }),
];
