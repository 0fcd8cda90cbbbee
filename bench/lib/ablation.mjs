/**
 * The ablation variants of the gateway bundle (bench/ablate.mjs): each skips one stage of the request path or
 * replaces it with its cheapest stand-in, by patching the text of the production bundle that
 * `wrangler deploy --dry-run` wrote. Nothing here is in the source: the production bundle is byte for byte
 * what it would be without this file, and no switch is reachable at run time in production.
 *
 * A patch names an exact snippet of the bundle (esbuild's output of src/, stable for a given source) and
 * must match it exactly once; a patch that no longer matches (the source changed) makes its variant fail
 * with the snippet it looked for, never a silent no-op. The stand-ins keep the request working the way the
 * bench drives it (GET /psa/tickets with one integration key, one path): memoized on the first request's
 * answer where a stage computes something later stages need.
 */

/** Inserts `code` as the first statement of the function whose header is `header` (a literal snippet, or a RegExp). */
const atStart = (header, code) => ({ find: header, replace: typeof header === "string" ? `${header}\n${code}` : (m) => `${m}\n${code}` });
/** Replaces a literal snippet (or a RegExp's one match; `replace` may then be a function of the match). */
const swap = (find, replace) => ({ find, replace });
/** The Hono middleware `name` (esbuild names the inner function `<name>2`; async or not) starts with `code`. */
const middleware = (name, code) => atStart(new RegExp(`(?:async )?function ${name}2\\(c, next\\) \\{`), code);

const LOG_LINE = "console.log(JSON.stringify(f));";

/** Stage -> { what, patches }. `what` says what the variant does instead of the stage. */
export const VARIANTS = {
  "no-op patch": {
    what: "a comment added at the top of the bundle: the patch step's control (nothing that runs changes)",
    control: true,
    patches: [swap(/^/, "/* ablation control: nothing that runs is changed */\n")],
  },
  "log line": {
    what: "the request log line neither built nor written (the record is still filled in)",
    patches: [swap(LOG_LINE, ";")],
  },
  "log write": {
    what: "the log line built (JSON.stringify) but not written to stdout: workerd serve's console.log cost",
    patches: [swap(LOG_LINE, LOG_LINE.replace("console.log(", "globalThis.__ablateSink = ("))],
  },
  "usage data point": {
    what: "no usage data point (no Analytics Engine binding in the bench: the call's own overhead only)",
    patches: [atStart(/function recordUsage\(dataset, fields\d*\) \{/, "return;")],
  },
  "request id": {
    what: "the incoming X-Request-Id used as it is: no validation, no response header",
    patches: [
      swap('c.req.path.startsWith("/__gateway/admin") ? crypto.randomUUID() : resolveRequestId(requestHeader(req.headers, "x-request-id"))', '(req.headers.get("x-request-id") ?? "ablated")'),
      atStart("function stampRequestId(c, headers, id) {", "return;"),
    ],
  },
  "config lookup": {
    what: "the validated config from a module variable instead of loadConfig's per-env cache",
    patches: [middleware("withConfig", 'c.set("config", (globalThis.__ablateConfig ??= loadConfig(c.env).config)); return next();')],
  },
  CORS: {
    what: "no CORS and no cookie-CSRF step (the bench sends no Origin)",
    patches: [middleware("cors", "return next();"), middleware("cookieCsrf", "return next();")],
  },
  "route resolution": {
    what: "the first request's resolved product and route reused (no path checks, no route match)",
    patches: [
      middleware("resolveRoute", 'if (globalThis.__ablateResolved) { c.set("resolved", globalThis.__ablateResolved); c.get("log").route(globalThis.__ablateRoute); return next(); }'),
      swap(
        'c.set("resolved", { product, route, path, search: url.search });',
        'c.set("resolved", globalThis.__ablateResolved = { product, route, path, search: url.search }); globalThis.__ablateRoute = { product: product.name, route: `${route.method} ${route.pattern}`, permission: `${product.name}:${route.permission}` };',
      ),
    ],
  },
  "credential extraction": {
    what: "X-Integration-Key read directly (no query scan, no Authorization or cookie parse)",
    patches: [atStart("function extractCredential(headers, query, sessionCookie) {", '{ const k = headers.get("x-integration-key"); if (k !== null) return { kind: "key", key: k }; }')],
  },
  "SHA-256": {
    what: "a key's hash memoized by its text (no digest per request)",
    patches: [atStart("function hashKey(key) {", "const m = globalThis.__ablateHashes ??= new Map(); let h = m.get(key); if (h === undefined) m.set(key, h = sha256Hex(key)); return h;")],
  },
  "key check + cache": {
    what: "the principal memoized by key text: no checksum, SHA-256, isolate cache, usability or revocation check",
    patches: [
      atStart(/async function authenticateKey\([^)]*\) \{/, "const hit = (globalThis.__ablateKeys ??= new Map()).get(key); if (hit) return hit;"),
      // esbuild may rename `record` (record2, record3...): the pattern takes whichever name it has.
      swap(/return \{ type: "key", tenantId: (\w+)\.tenantId, keyId: \1\.keyId, access: \1\.access \};/, (m) => `const p = ${m.slice("return ".length, -1)}; globalThis.__ablateKeys.set(key, p); return p;`),
    ],
  },
  authorization: {
    what: "no authorization step",
    patches: [middleware("authorizeRoute", "return next();")],
  },
  "lease take": {
    what: "admitted without the rate limiter (no lease take, no RateLimit headers)",
    patches: [middleware("rateLimit", 'c.get("log").decide("admitted"); return next();')],
  },
  "request headers": {
    what: "the upstream gets only X-Request-Id (no copy, strip or identity headers)",
    patches: [atStart("function upstreamRequestHeaders(incoming, opts) {", 'return new Headers({ "x-request-id": opts.requestId });')],
  },
  "response headers": {
    what: "the product's response headers passed as they are (no strip, cookie filter or Location rewrite)",
    patches: [atStart("function passThroughHeaders(out, ctx) {", "return out;")],
  },
  "body wrappers": {
    what: "request and response bodies passed as they are (no checks, no idle-bounded streams)",
    patches: [
      atStart(
        "async function prepareBody(req, route, limits, onFail) {",
        "return { body: req.method === 'GET' || req.method === 'HEAD' ? null : req.body, handedOver: Promise.resolve(), failure: () => Promise.resolve(null), answered: () => undefined, settle: () => Promise.resolve(), bytes: () => 0 };",
      ),
      atStart("function passThroughBody(body, upstream, ctx) {", "return body;"),
    ],
  },
  "per-request timers": {
    what: "no timers: the product deadline never starts, bounded waits wait unbounded",
    patches: [
      atStart("  start() {\n    if (this.#timer !== null || this.#cleared) return;", "    return;"),
      atStart(/async function withDeadline\(.*\) \{/, "return promise;"),
      atStart("async function readWithin(reader, ms) {", "return reader.read();"),
    ],
  },
  "Hono dispatch": {
    what: "the same middleware chain called directly for product paths (no router, no compose); /__gateway/* still through Hono",
    patches: [
      swap(
        "var index_default = {\n  fetch: app.fetch\n};",
        `var __ablateChain = [observe(), withConfig(), cors(), cookieCsrf(), resolveRoute(), authenticate(), authorizeRoute(), rateLimit(), proxyToProduct()];
var index_default = {
  fetch(request, env, ctx) {
    if (request.url.includes("/__gateway/")) return app.fetch(request, env, ctx);
    const c = new Context(request, { env, executionCtx: ctx });
    const run = async (i) => {
      try {
        const r = await __ablateChain[i](c, () => run(i + 1));
        if (r instanceof Response) c.res = r;
      } catch (err) {
        c.res = await onError(err, c);
      }
    };
    return run(0).then(() => c.res);
  }
};`,
      ),
    ],
  },
};

/** Every stage's stand-in at once (all but "log write", which "log line" covers, and the controls): what is left is the runtime's. */
export const ALL = "all stages";

/** The patch set of a variant name (a stage, or ALL). */
export function patchesOf(name) {
  if (name === ALL) return Object.entries(VARIANTS).flatMap(([stage, v]) => (stage === "log write" || v.control ? [] : v.patches));
  const v = VARIANTS[name];
  if (!v) throw new Error(`unknown ablation variant "${name}"; known: ${[...Object.keys(VARIANTS), ALL].join(", ")}`);
  return v.patches;
}

/** The bundle text with `patches` applied; throws naming the first snippet that does not match exactly once. */
export function applyPatches(text, patches) {
  let out = text;
  for (const p of patches) {
    const re = typeof p.find === "string" ? null : new RegExp(p.find.source, "g");
    const hits = re ? [...out.matchAll(re)].map((m) => ({ at: m.index, text: m[0] })) : [out.indexOf(p.find)].filter((i) => i !== -1).map((at) => ({ at, text: p.find }));
    if (!re && hits.length && out.indexOf(p.find, hits[0].at + 1) !== -1) hits.push(null);
    const what = String(p.find).slice(0, 120);
    if (hits.length === 0) throw new Error(`patch target not in the bundle (did the source change?): ${what}`);
    if (hits.length > 1) throw new Error(`patch target found more than once: ${what}`);
    const [{ at, text: found }] = hits;
    const replacement = typeof p.replace === "function" ? p.replace(found) : p.replace;
    out = out.slice(0, at) + replacement + out.slice(at + found.length);
  }
  return out;
}
