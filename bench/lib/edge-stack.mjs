/**
 * The edge section's servers: ONE `workerd serve` process (pinned to the server core) hosting K Worker
 * services, each its own isolate on its own HTTP socket on 127.0.0.1, as K edge locations would:
 *
 *   gateways   K copies of the production bundle (with `receiveLog`, behind lib/edge-received.mjs, which
 *              logs each request's receive time and changes nothing else). Their Durable Object bindings (TENANT_LIMITER,
 *              KEY_DIRECTORY) point at the classes of another service: durableObjectNamespace = (className
 *              = "TenantLimiter", serviceName = "limiter"). Their KV bindings share one in-memory KV
 *              service with a propagation delay (KV_PROPAGATION_MS): a write made through one gateway is
 *              visible to that gateway at once and to the others KV_PROPAGATION_MS later, as KV's
 *              replicas behave; each binding names its isolate in its props.
 *   limiter    defines the Durable Object classes (SQLite, on tmpfs): lib/edge-limiter.mjs in front of the
 *              bundle, which delays every call into an object by D each way and counts calls per method.
 *              Its own bindings reach the same classes and KV (the directory's alarm writes both).
 *   refs       K copies of reference/pass.mjs (the floor), in a process of their own.
 */
import { copyFileSync, mkdirSync, writeFileSync } from "node:fs";
import { basename, dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { benchVars, gatewayTarget } from "./gateway.mjs";
import { stopPid } from "./proc.mjs";
import { SERVER_CORE } from "./stack.mjs";
import { binding, moduleEntry, ratelimitParts, serveConfig, str } from "./workerd.mjs";

const benchDir = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const LIMITER = "limiter";
/** How long a KV write takes to reach the other isolates (Cloudflare documents up to 60 s). */
export const KV_PROPAGATION_MS = 30_000;

/** A worker service entry of the config; `modules` are file names already copied next to the config. */
function workerService(name, { modules, compatibilityDate, compatibilityFlags = [], bindings = [], extra = "" }) {
  return `(name = ${str(name)}, worker = (
      modules = [${modules.map(moduleEntry).join(", ")}],
      compatibilityDate = ${str(compatibilityDate)},
      compatibilityFlags = [${compatibilityFlags.map(str).join(", ")}],
      bindings = [${bindings.join(",\n        ")}],
      ${extra}
      globalOutbound = "internet"))`;
}

/** Writes config.capnp in `dir` from services and sockets ({ name, service }), copying `files` next to it. */
function writeMultiConfig(dir, files, services, sockets) {
  mkdirSync(dir, { recursive: true });
  for (const f of files) copyFileSync(f, join(dir, basename(f)));
  const socketLines = sockets.map((s) => `(name = ${str(s.name)}, address = "127.0.0.1:0", http = (), service = ${str(s.service)})`);
  const config = `using Workerd = import "/workerd/workerd.capnp";
const config :Workerd.Config = (
  services = [
    ${[...services, `(name = "internet", network = (allow = ["public", "private", "local"]))`].join(",\n    ")}
  ],
  sockets = [
    ${socketLines.join(",\n    ")}
  ],
);
`;
  writeFileSync(join(dir, "config.capnp"), config);
}

async function serve(dir, label, sockets) {
  const { pid, ports, log } = await serveConfig(dir, label, sockets.map((s) => s.name), { core: SERVER_CORE });
  const urls = Object.fromEntries(sockets.map((s) => [s.name, `http://127.0.0.1:${ports[s.name]}`]));
  return { pid, urls, log, stop: () => stopPid(pid) };
}

/**
 * Starts K gateway isolates and the limiter service in one workerd; `vars` go on top of the bench's (e.g.
 * RATE_LIMIT_DEFAULT); `receiveLog` puts lib/edge-received.mjs in front of each gateway. Resolves { pid, log, vars, runtime (compatibility settings), gatewayUrls, limiterUrl, kv, stop }.
 */
export async function startEdgeGateways({ isolates, configPath, bundleDir, dir, storageDir, upstreamUrl, vars = {}, receiveLog = false }) {
  const target = await gatewayTarget(configPath, bundleDir, (declared) => ({ ...benchVars(declared, upstreamUrl), ...vars }));
  const limiterModule = join(benchDir, "lib/edge-limiter.mjs");
  const receivedModule = join(benchDir, "lib/edge-received.mjs");
  const bundleFiles = target.modules.map((m) => m.path);
  const bundleNames = target.modules.map((m) => m.name);
  const runtime = { compatibilityDate: target.compatibilityDate, compatibilityFlags: target.compatibilityFlags };
  const common = Object.entries(target.vars).map(([n, v]) => binding(n, v));
  const kvFor = (isolate) => target.kv.map((b) => `(name = ${str(b)}, kvNamespace = (name = ${str(`kv:${b}`)}, props = (json = ${str(JSON.stringify({ isolate }))})))`);
  const classes = [...new Set(target.durableObjects.map((d) => d.className))];
  const rl = ratelimitParts(target);
  const gatewayBindings = (isolate) => [
    ...common,
    ...kvFor(isolate),
    ...rl.bindings,
    ...target.durableObjects.map((d) => `(name = ${str(d.binding)}, durableObjectNamespace = (className = ${str(d.className)}, serviceName = ${str(LIMITER)}))`),
  ];
  const namespaces = target.durableObjects
    .filter((d, i, all) => all.findIndex((x) => x.className === d.className) === i)
    .map((d) => `(className = ${str(d.className)}, uniqueKey = ${str(`bench-edge-${d.className}`)}, enableSql = ${d.sqlite ? "true" : "false"})`);
  mkdirSync(storageDir, { recursive: true });
  const gateways = Array.from({ length: isolates }, (_, i) => `gw${i}`);
  const services = [
    ...gateways.map((name) => workerService(name, { ...runtime, modules: receiveLog ? [basename(receivedModule), ...bundleNames] : bundleNames, bindings: gatewayBindings(name) })),
    workerService(LIMITER, {
      ...runtime,
      modules: [basename(limiterModule), ...bundleNames],
      bindings: [...common, ...kvFor(LIMITER), ...target.durableObjects.map((d) => `(name = ${str(d.binding)}, durableObjectNamespace = (className = ${str(d.className)}))`)],
      extra: `durableObjectNamespaces = [${namespaces.join(", ")}],\n      durableObjectStorage = (localDisk = "do-disk"),`,
    }),
    ...target.kv.map((b) => `(name = ${str(`kv:${b}`)}, worker = (modules = [${moduleEntry("kv-service.mjs")}], compatibilityDate = "2025-01-01", bindings = [${binding("PROPAGATION_MS", String(KV_PROPAGATION_MS))}]))`),
    ...rl.services,
    `(name = "do-disk", disk = (path = ${str(storageDir)}, writable = true))`,
  ];
  const sockets = [...gateways, LIMITER, ...target.kv.map((b) => `kv:${b}`)].map((name) => ({ name, service: name }));
  for (const c of ["TenantLimiter", "KeyDirectory"]) if (!classes.includes(c)) throw new Error(`wrangler config binds no ${c} Durable Object: nothing to put in another region`);
  writeMultiConfig(dir, [...bundleFiles, limiterModule, receivedModule, join(benchDir, "lib/kv-service.mjs"), join(benchDir, "lib/ratelimit-service.mjs")], services, sockets);
  const w = await serve(dir, "edge gateways", sockets);
  return {
    ...w,
    vars: target.vars,
    runtime,
    gatewayUrls: gateways.map((g) => w.urls[g]),
    limiterUrl: w.urls[LIMITER],
    kv: Object.fromEntries(target.kv.map((b) => [b, w.urls[`kv:${b}`]])),
  };
}

/** K reference pass-through isolates in one workerd, with the gateway's runtime settings. */
export async function startEdgeRefs({ isolates, runtime, dir, upstreamUrl }) {
  const pass = join(benchDir, "reference/pass.mjs");
  const names = Array.from({ length: isolates }, (_, i) => `ref${i}`);
  const services = names.map((name) => workerService(name, { ...runtime, modules: [basename(pass)], bindings: [binding("UPSTREAM", upstreamUrl)] }));
  const sockets = names.map((name) => ({ name, service: name }));
  writeMultiConfig(dir, [pass], services, sockets);
  const w = await serve(dir, "edge refs", sockets);
  return { ...w, urls: names.map((n) => w.urls[n]) };
}
