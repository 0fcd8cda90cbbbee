import { cloudflareTest } from "@cloudflare/vitest-plugin";
import { createServer } from "node:net";
import { defineConfig } from "vitest/config";

/** A free loopback port for the demo backends that play the product upstreams. */
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      const port = typeof address === "object" && address !== null ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

// The Worker, its KV and Durable Objects run for real in workerd; only the product backends are played by
// the demo backends (real HTTP servers on loopback, started by the global setup), which record exactly
// what they receive.
export default defineConfig(async () => {
  const psaPort = Number(process.env.TEST_PSA_PORT ?? (await freePort()));
  const rmmPort = Number(process.env.TEST_RMM_PORT ?? (await freePort()));
  process.env.TEST_PSA_PORT = String(psaPort);
  process.env.TEST_RMM_PORT = String(rmmPort);
  // The test JWKS host (test/support/jwks-server.mjs) for the remote-JWKS and `jku` tests.
  const jwksPort = Number(process.env.TEST_JWKS_PORT ?? (await freePort()));
  process.env.TEST_JWKS_PORT = String(jwksPort);
  return {
    plugins: [
      cloudflareTest({
        wrangler: { configPath: "./wrangler.toml" },
        miniflare: {
          bindings: {
            UPSTREAM_PSA: `http://127.0.0.1:${psaPort}`,
            UPSTREAM_RMM: `http://127.0.0.1:${rmmPort}`,
            TEST_JWKS_ORIGIN: `http://127.0.0.1:${jwksPort}`,
          },
          // A product reached through a service binding (upstream `service:PSA_SERVICE`): workerd sends the
          // binding's requests over HTTP to the demo PSA backend, which records them like any other.
          serviceBindings: { PSA_SERVICE: { external: { address: `127.0.0.1:${psaPort}`, http: {} } } },
        },
      }),
    ],
    test: {
      include: ["test/unit/**/*.test.ts", "test/integration/**/*.test.ts"],
      // Each request writes one JSON log line; show them only for failing tests.
      silent: "passed-only",
      globalSetup: ["test/support/global-setup.ts"],
      // A bound on a hung test, not a speed check (time is injected; speed is the bench's): CI runs on a
      // shared 2-core machine where a test that takes 1 s alone was seen to take 6 s.
      testTimeout: 30_000,
    },
  };
});
