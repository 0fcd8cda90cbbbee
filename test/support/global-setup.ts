/** Starts the demo backends (the product upstreams) on the ports the config chose, and stops them after. */
// @ts-expect-error: plain ESM module without type declarations (dev-only).
import { startBackends } from "../../dev/backends/start.mjs";

export default async function setup(): Promise<() => Promise<void>> {
  const backends = await startBackends({ psaPort: Number(process.env.TEST_PSA_PORT), rmmPort: Number(process.env.TEST_RMM_PORT) });
  return async () => {
    await backends.close();
  };
}
