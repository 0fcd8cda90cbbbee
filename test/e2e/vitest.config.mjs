// End-to-end suite: plain Node (not workerd), real processes and real HTTP on loopback.
// Run: npm run test:e2e   (or: node_modules/.bin/node node_modules/vitest/vitest.mjs run --config test/e2e/vitest.config.mjs)
import { fileURLToPath } from "node:url";
import { defineConfig } from "vitest/config";

export default defineConfig({
  // The repository root, so `include` and the output paths read the same as in the main config.
  root: fileURLToPath(new URL("../..", import.meta.url)),
  test: {
    environment: "node",
    include: ["test/e2e/**/*.test.mjs"],
    testTimeout: 60_000,
    // startDevServer() alone may take up to 60 s (wrangler's first build), plus stopping.
    hookTimeout: 90_000,
    // Each file starts its own stack; one at a time keeps ports and CPU predictable.
    fileParallelism: false,
    pool: "forks",
  },
});
