// Lint: recommended rules plus type-aware ones that catch real bugs in a Worker (floating promises,
// misused promises), and the import layers of src/. Generated, dependency and build folders are not linted.
import js from "@eslint/js";
import tseslint from "typescript-eslint";

// Import layers of src/, bottom to top. A directory may import from the layers below it and from itself,
// never from one above; imports follow the request pipeline (routing -> auth -> authz -> ratelimit ->
// proxy), and configuration takes only shared leaf helpers, never the modules it configures.
//   errors.ts, shared/   leaves: the error contract; plain helpers and grammars (records, tenant id, policy, SHA-256, deadlines)
//   http/                HTTP grammar: cookies, Bearer, methods, JSON bodies, request id, parameter names
//   config/              reads and validates configuration
//   audit/               the admin audit trail's storage (kept by the tenant's Durable Object)
//   ops/                 the frame of every request: id, URL, log record, usage, health
//   security/            CORS, the cookie CSRF check, per-address failure budgets
//   routing/ auth/ authz/ ratelimit/ proxy/    the pipeline, in its order
//   admin/               the admin API
//   app.ts, index.ts, error-handler.ts         the app itself
// env.ts (the context's types, `import type` only) is readable from every layer but the leaves.
const LAYERS = ["shared", "http", "config", "audit", "ops", "security", "routing", "auth", "authz", "ratelimit", "proxy", "admin"];
const APP_FILES = ["app", "index", "error-handler"];

/**
 * A regex for imports of the given src/ directories or top-level files, written from a file `up` levels
 * below src/ (`../auth/jwt` from src/admin/x.ts, `./auth/jwt` from src/errors.ts).
 */
function importOf(up, dirs, files = []) {
  const names = [...dirs.map((d) => `${d}(?:/|$)`), ...files.map((f) => `${f}(?:\\.ts)?$`)];
  return `^${up === 0 ? "\\./" : "(?:\\.\\./){" + up + "}"}(?:${names.join("|")})`;
}

/** The no-restricted-imports block for one layer: everything above it is out of bounds. */
function layerRule(index) {
  const layer = LAYERS[index];
  const above = LAYERS.slice(index + 1);
  const leaf = index <= 1;
  const patterns = [{ regex: importOf(1, above, [...APP_FILES, ...(leaf ? ["env"] : [])]), message: `src/${layer} sits below ${above.join(", ")} and the app${leaf ? ", and as a leaf does not read env.ts" : ""} (layer order: eslint.config.js)` }];
  return { files: [`src/${layer}/**/*.ts`], rules: { "no-restricted-imports": ["error", { patterns }] } };
}

export default tseslint.config(
  { ignores: ["node_modules/", ".wrangler/", "dist/", "worker-configuration.d.ts", "bench/results/"] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    files: ["src/**/*.ts", "test/**/*.ts"],
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      "@typescript-eslint/no-floating-promises": "error",
      "@typescript-eslint/no-misused-promises": "error",
      "@typescript-eslint/await-thenable": "error",
      "@typescript-eslint/consistent-type-imports": "error",
      "@typescript-eslint/no-unused-vars": ["error", { argsIgnorePattern: "^_", ignoreRestSiblings: true }],
    },
  },
  ...LAYERS.map((_, i) => layerRule(i)),
  {
    files: ["src/errors.ts"],
    rules: { "no-restricted-imports": ["error", { patterns: [{ regex: importOf(0, LAYERS, [...APP_FILES, "env"]), message: "src/errors.ts is a leaf: it imports nothing of the gateway" }] }] },
  },
  {
    files: ["**/*.mjs", "**/*.js"],
    languageOptions: {
      globals: { process: "readonly", console: "readonly", setTimeout: "readonly", clearTimeout: "readonly", setInterval: "readonly", clearInterval: "readonly", Buffer: "readonly", URL: "readonly", fetch: "readonly", AbortController: "readonly", TextEncoder: "readonly", TextDecoder: "readonly", Response: "readonly", Request: "readonly", Headers: "readonly", crypto: "readonly", performance: "readonly", AbortSignal: "readonly", structuredClone: "readonly", setImmediate: "readonly", queueMicrotask: "readonly", ReadableStream: "readonly", URLSearchParams: "readonly", WebSocket: "readonly" },
    },
  },
);
