/**
 * The gateway as a bench target: the production bundle (`wrangler deploy --dry-run`), with the bindings and
 * vars wrangler.toml declares (read at run time through wrangler's own config reader, so the bench follows
 * the config as it changes), plus the bench's overrides.
 */
import { spawn } from "node:child_process";
import { existsSync, readdirSync, rmdirSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join, resolve as resolvePath } from "node:path";
import { stripVTControlCharacters } from "node:util";
import { own, disown, stopPid } from "./proc.mjs";

const require = createRequire(import.meta.url);
const wranglerBin = join(dirname(require.resolve("wrangler/package.json")), "bin", "wrangler.js");

/** Bundles the gateway into outDir. Resolves { ok: true } or { ok: false, error } (never throws). */
export async function buildGateway(configPath, outDir, timeoutMs = 120_000) {
  configPath = resolvePath(configPath);
  const wranglerDir = join(dirname(configPath), ".wrangler");
  const hadWranglerDir = existsSync(wranglerDir);
  const args = [wranglerBin, "deploy", "--dry-run", "--outdir", outDir, "--config", configPath];
  const child = spawn(process.execPath, args, {
    cwd: dirname(configPath),
    stdio: ["ignore", "pipe", "pipe"],
    // No telemetry, no colour codes in captured errors, wrangler's debug log next to the bundle (not in ~/.config).
    env: { ...process.env, WRANGLER_SEND_METRICS: "false", NO_COLOR: "1", FORCE_COLOR: "0", WRANGLER_LOG_PATH: join(outDir, "..", "wrangler-logs") },
  });
  own(child.pid, "wrangler build");
  let output = "";
  child.stdout.on("data", (d) => (output += d));
  child.stderr.on("data", (d) => (output += d));
  const timer = setTimeout(() => void stopPid(child.pid), timeoutMs);
  const code = await new Promise((resolve) => child.on("close", resolve));
  clearTimeout(timer);
  disown(child.pid);
  // wrangler leaves an empty .wrangler/tmp behind; remove it only if this build created it (rmdir: empty only).
  if (!hadWranglerDir) {
    for (const dir of [join(wranglerDir, "tmp"), wranglerDir]) {
      try {
        rmdirSync(dir);
      } catch {
        // not empty (something else uses it) or already gone: leave it
      }
    }
  }
  if (code !== 0) {
    const text = stripVTControlCharacters(output).trim(); // esbuild colours its errors regardless
    return { ok: false, error: `wrangler exited with ${code}:\n${text.split("\n").slice(-15).join("\n")}` };
  }
  return { ok: true };
}

// Worker options wrangler resolves that the bench can ignore: no binding behind them, or not used under load.
const IGNORED = new Set(["rootPath", "modulesRules", "compatibilityDate", "compatibilityFlags", "bindings", "kvNamespaces", "durableObjects", "ratelimits", "cronTriggers", "zone", "access"]);
const declared = (v) => (Array.isArray(v) ? v.length > 0 : v && typeof v === "object" ? Object.values(v).some(declared) : v !== undefined && v !== null);

/**
 * The gateway as a workerd target: the bundle's modules, and the compatibility settings, vars (with
 * .dev.vars), KV namespaces and Durable Objects (SQLite per the migrations) that wrangler.toml declares, read
 * through wrangler's own resolver so the bench follows the config as it changes. `overrides(vars)` returns
 * vars to set on top. A binding kind the bench cannot provide is an error naming it, not a silent gap.
 */
export async function gatewayTarget(configPath, outDir, overrides) {
  const { unstable_getMiniflareWorkerOptions } = await import("wrangler");
  const { workerOptions: w } = unstable_getMiniflareWorkerOptions(configPath);
  const unsupported = Object.keys(w).filter((k) => !IGNORED.has(k) && declared(w[k]));
  const external = Object.entries(w.durableObjects ?? {}).filter(([, d]) => d.scriptName);
  if (unsupported.length || external.length) {
    const what = [...unsupported, ...external.map(([n]) => `durable object ${n} in another script`)].join(", ");
    throw new Error(`wrangler config declares bindings the bench does not provide yet: ${what} (add them in bench/lib/workerd.mjs)`);
  }
  const files = readdirSync(outDir).filter((f) => !f.endsWith(".map") && f !== "README.md");
  const modules = ["index.js", ...files.filter((f) => f !== "index.js")].map((name) => ({ name, path: join(outDir, name) }));
  return {
    id: "gateway",
    modules,
    compatibilityDate: w.compatibilityDate,
    compatibilityFlags: w.compatibilityFlags ?? [],
    vars: { ...w.bindings, ...overrides(w.bindings ?? {}) },
    kv: Object.keys(w.kvNamespaces ?? {}),
    durableObjects: Object.entries(w.durableObjects ?? {}).map(([binding, d]) => ({ binding, className: d.className, sqlite: Boolean(d.useSQLite) })),
    ratelimits: Object.entries(w.ratelimits ?? {}).map(([binding, r]) => ({ binding, limit: r.simple?.limit ?? 0, period: r.simple?.period ?? 60 })),
  };
}
/**
 * What the bench sets on top of wrangler.toml: every product upstream -> the local one, and a default rate
 * limit that is never reached: one policy with the window of the declared default (`100/1m` -> 1m) and the
 * gateway's maximum limit (1,000,000 per window, far above what 2 cores serve in a minute), so admitted
 * requests pay the limiter RPC and never a 429.
 */
export function benchVars(declaredVars, upstreamUrl) {
  const out = {};
  for (const name of Object.keys(declaredVars ?? {})) if (name.startsWith("UPSTREAM_")) out[name] = upstreamUrl;
  const window = /^\d+\/([^,\s]+)/.exec(String(declaredVars?.RATE_LIMIT_DEFAULT ?? ""))?.[1] ?? "1m";
  out.RATE_LIMIT_DEFAULT = `1000000/${window}`;
  return out;
}
