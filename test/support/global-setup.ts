/**
 * Starts the demo backends (the product upstreams) and the test JWKS host on the ports the config chose,
 * and stops them after.
 */
// @ts-expect-error: plain ESM module without type declarations (dev-only).
import { startBackends } from "../../dev/backends/start.mjs";
// @ts-expect-error: plain ESM module without type declarations (test-only).
import { startJwksServer } from "./jwks-server.mjs";

export default async function setup(): Promise<() => Promise<void>> {
  const backends = await startBackends({ psaPort: Number(process.env.TEST_PSA_PORT), rmmPort: Number(process.env.TEST_RMM_PORT) });
  const jwks = await startJwksServer({ port: Number(process.env.TEST_JWKS_PORT) });
  return async () => {
    await Promise.all([backends.close(), jwks.close()]);
  };
}
