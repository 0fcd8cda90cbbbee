/**
 * Runs one Worker under `workerd serve` with a generated config: the bench's runtime for every target, so the
 * gateway and the references go through exactly the same path (workerd HTTP socket -> Worker -> global
 * fetch straight to the network). Miniflare was measured and rejected for this: it routes every outbound
 * fetch through an extra interceptor Worker, which cost the bare pass-through ~60% more CPU per request
 * (see bench/README.md).
 *
 * A target:
 *   { id, modules: [{ path, name? }] (main first), compatibilityDate, compatibilityFlags, vars: {NAME: value},
 *     kv: ["BINDING"], durableObjects: [{ binding, className, sqlite }] }
 * KV namespaces are served by kv-service.mjs inside the same workerd process; each also gets its own
 * loopback socket so the harness can seed it. SQLite Durable Objects store to a temp directory on disk.
 */
import { spawn } from "node:child_process";
import { copyFileSync, mkdirSync, openSync, closeSync, readFileSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { basename, extname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { own, disown, stopPid } from "./proc.mjs";

const workerdBin = createRequire(import.meta.url)("workerd").default; // the binary wrangler/Miniflare use
const kvServicePath = fileURLToPath(new URL("./kv-service.mjs", import.meta.url));
const ratelimitServicePath = fileURLToPath(new URL("./ratelimit-service.mjs", import.meta.url));

/** Cap'n Proto text string literal: escape quotes, backslashes and every non-printable or non-ASCII byte. */
export function str(value) {
  let out = "";
  for (const byte of Buffer.from(String(value), "utf8")) {
    const c = String.fromCharCode(byte);
    out += c === '"' || c === "\\" ? `\\${c}` : byte >= 0x20 && byte < 0x7f ? c : `\\x${byte.toString(16).padStart(2, "0")}`;
  }
  return `"${out}"`;
}

const MODULE_KIND = { ".js": "esModule", ".mjs": "esModule", ".cjs": "commonJsModule", ".wasm": "wasm", ".txt": "text", ".html": "text", ".sql": "text", ".bin": "data" };

export function moduleEntry(name) {
  const kind = MODULE_KIND[extname(name)];
  if (!kind) throw new Error(`no module type for ${name}`);
  return `(name = ${str(name)}, ${kind} = embed ${str(name)})`;
}

export function binding(name, value) {
  return typeof value === "string" ? `(name = ${str(name)}, text = ${str(value)})` : `(name = ${str(name)}, json = ${str(JSON.stringify(value))})`;
}

/** Services and bindings for the target's rate-limiting bindings (lib/ratelimit-service.mjs, one service each). */
export function ratelimitParts(target) {
  const limits = target.ratelimits ?? [];
  return {
    bindings: limits.map((r) => `(name = ${str(r.binding)}, service = ${str(`rl:${r.binding}`)})`),
    services: limits.map(
      (r) =>
        `(name = ${str(`rl:${r.binding}`)}, worker = (modules = [${moduleEntry("ratelimit-service.mjs")}], compatibilityDate = "2025-01-01", bindings = [${binding("LIMIT", String(r.limit))}, ${binding("PERIOD", String(r.period))}]))`,
    ),
  };
}

/** Writes config.capnp (and copies of the modules: embed paths may not leave the config's folder). */
function writeConfig(target, dir, storageDir) {
  const names = target.modules.map((m) => {
    const name = m.name ?? basename(m.path);
    copyFileSync(m.path, join(dir, name));
    return name;
  });
  copyFileSync(kvServicePath, join(dir, "kv-service.mjs"));
  copyFileSync(ratelimitServicePath, join(dir, "ratelimit-service.mjs"));
  const rl = ratelimitParts(target);
  const kv = target.kv ?? [];
  const dos = target.durableObjects ?? [];
  const flags = (target.compatibilityFlags ?? []).map(str).join(", ");
  const bindings = [
    ...Object.entries(target.vars ?? {}).map(([n, v]) => binding(n, v)),
    ...kv.map((b) => `(name = ${str(b)}, kvNamespace = ${str(`kv:${b}`)})`),
    ...dos.map((d) => `(name = ${str(d.binding)}, durableObjectNamespace = (className = ${str(d.className)}))`),
    ...rl.bindings,
  ];
  const classes = [...new Map(dos.map((d) => [d.className, d])).values()];
  const namespaces = classes.map((d) => `(className = ${str(d.className)}, uniqueKey = ${str(`bench-${target.id}-${d.className}`)}, enableSql = ${d.sqlite ? "true" : "false"})`);
  mkdirSync(storageDir, { recursive: true });
  const services = [
    `(name = "main", worker = (
      modules = [${names.map(moduleEntry).join(", ")}],
      compatibilityDate = ${str(target.compatibilityDate)},
      compatibilityFlags = [${flags}],
      bindings = [${bindings.join(",\n        ")}],
      durableObjectNamespaces = [${namespaces.join(", ")}],
      ${classes.length ? 'durableObjectStorage = (localDisk = "do-disk"),' : ""}
      globalOutbound = "internet"))`,
    ...kv.map((b) => `(name = ${str(`kv:${b}`)}, worker = (modules = [${moduleEntry("kv-service.mjs")}], compatibilityDate = "2025-01-01"))`),
    ...rl.services,
    `(name = "do-disk", disk = (path = ${str(storageDir)}, writable = true))`,
    // The default "internet" service refuses private addresses; the upstream is on loopback.
    `(name = "internet", network = (allow = ["public", "private", "local"]))`,
  ];
  const sockets = [
    `(name = "http", address = "127.0.0.1:0", http = (), service = "main")`,
    ...kv.map((b) => `(name = ${str(`kv:${b}`)}, address = "127.0.0.1:0", http = (), service = ${str(`kv:${b}`)})`),
  ];
  const v8Flags = (target.v8Flags ?? []).map(str).join(", ");
  const config = `using Workerd = import "/workerd/workerd.capnp";
const config :Workerd.Config = (
  ${v8Flags ? `v8Flags = [${v8Flags}],` : ""}
  services = [
    ${services.join(",\n    ")}
  ],
  sockets = [
    ${sockets.join(",\n    ")}
  ],
);
`;
  writeFileSync(join(dir, "config.capnp"), config);
  return { socketNames: ["http", ...kv.map((b) => `kv:${b}`)] };
}

/**
 * Starts workerd for `target` in `dir`, pinned to `core`, Durable Object SQLite files in `storageDir`;
 * resolves { url, pid, kv: {BINDING: url}, log } once
 * every socket listens. stdout/stderr go to a file (the gateway logs a line per request; nothing in Node
 * parses them, so logging costs only what it costs inside workerd).
 */
export async function startWorkerd(target, dir, { core, storageDir = join(dir, "do"), timeoutMs = 30_000, inspectorPort, wrap } = {}) {
  mkdirSync(dir, { recursive: true });
  const { socketNames } = writeConfig(target, dir, storageDir);
  const { pid, ports, log } = await serveConfig(dir, target.id, socketNames, { core, timeoutMs, inspectorPort, wrap });
  const kv = Object.fromEntries((target.kv ?? []).map((b) => [b, `http://127.0.0.1:${ports[`kv:${b}`]}`]));
  return { url: `http://127.0.0.1:${ports.http}`, pid, kv, log };
}

/**
 * Runs `workerd serve <dir>/config.capnp` pinned to `core`, output to <dir>/workerd.log; resolves
 * { pid, ports: {socket: port}, log } once every socket in `socketNames` listens (workerd reports each
 * on its control fd). On failure the process is stopped and the log's tail is in the error.
 */
export async function serveConfig(dir, label, socketNames, { core, timeoutMs = 30_000, inspectorPort, wrap = [] } = {}) {
  const log = join(dir, "workerd.log");
  const logFd = openSync(log, "w");
  const args = ["serve", join(dir, "config.capnp"), "--experimental", "--control-fd=3"];
  if (inspectorPort !== undefined) args.push(`--inspector-addr=127.0.0.1:${inspectorPort}`);
  // `wrap`: a command the binary runs under (e.g. valgrind); the pid is then the wrapper's, which is the process measured.
  const command = [...wrap, workerdBin, ...args];
  const [cmd, argv] = core === undefined ? [command[0], command.slice(1)] : ["taskset", ["-c", String(core), ...command]];
  const child = spawn(cmd, argv, { stdio: ["ignore", logFd, logFd, "pipe"] });
  closeSync(logFd);
  own(child.pid, `workerd ${label}`);
  child.on("exit", () => disown(child.pid));

  const ports = {};
  try {
    await new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`timed out after ${timeoutMs} ms`)), timeoutMs);
      let buf = "";
      child.stdio[3].on("data", (d) => {
        buf += d;
        for (let i; (i = buf.indexOf("\n")) >= 0; buf = buf.slice(i + 1)) {
          const msg = JSON.parse(buf.slice(0, i));
          if (msg.event === "listen") ports[msg.socket] = msg.port;
        }
        if (socketNames.every((n) => ports[n])) {
          clearTimeout(timer);
          resolve();
        }
      });
      child.on("exit", (code) => {
        clearTimeout(timer);
        reject(new Error(`exited with ${code}`));
      });
    });
  } catch (err) {
    await stopPid(child.pid);
    const tail = readFileSync(log, "utf8").trim().split("\n").slice(-15).join("\n");
    throw new Error(`workerd ${label}: ${err.message}\n${tail}`, { cause: err });
  }
  return { pid: child.pid, ports, log };
}

/** Seeds a KV namespace through its socket, with the binding protocol's PUT. */
export async function kvPut(kvUrl, { key, value, metadata, expirationTtl }) {
  const qs = new URLSearchParams({ urlencoded: "true" });
  if (expirationTtl) qs.set("expiration_ttl", String(expirationTtl));
  const headers = metadata === undefined ? {} : { "CF-KV-Metadata": JSON.stringify(metadata) };
  const body = typeof value === "string" || value instanceof Uint8Array ? value : JSON.stringify(value);
  const res = await fetch(`${kvUrl}/${encodeURIComponent(key)}?${qs}`, { method: "PUT", headers, body });
  if (!res.ok) throw new Error(`KV put ${key}: ${res.status}`);
}
