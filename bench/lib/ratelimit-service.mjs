// The Workers Rate Limiting binding as the bench provides it (workerd has no built-in one): a service whose
// entrypoint answers `limit({ key })` with a fixed window of LIMIT per PERIOD seconds per key, the binding's
// documented `simple` semantics. Bound to the gateway as a service binding, so `env.X.limit()` is an RPC.
import { WorkerEntrypoint } from "cloudflare:workers";

const windows = new Map();

export default class RateLimit extends WorkerEntrypoint {
  async limit({ key }) {
    const now = Date.now();
    const periodMs = Number(this.env.PERIOD) * 1000;
    const start = now - (now % periodMs);
    const entry = windows.get(key);
    if (entry === undefined || entry.start !== start) {
      windows.set(key, { start, count: 1 });
      return { success: true };
    }
    entry.count += 1;
    return { success: entry.count <= Number(this.env.LIMIT) };
  }
}
