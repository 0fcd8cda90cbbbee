/**
 * Reference (b): the bare pass-through plus exactly one Durable Object RPC per request, to a SQLite-backed
 * object per tenant (tenant from `x-tenant`) that increments a counter, awaited before forwarding. That is
 * the gateway's shape (one limiter RPC on every admitted request) with nothing else, so it is the physical
 * limit of this design.
 */
import { DurableObject } from "cloudflare:workers";

export class TenantCounter extends DurableObject {
  constructor(ctx, env) {
    super(ctx, env);
    ctx.storage.sql.exec("CREATE TABLE IF NOT EXISTS hits (n INTEGER NOT NULL)");
  }

  increment() {
    const row = this.ctx.storage.sql.exec("UPDATE hits SET n = n + 1 RETURNING n").toArray()[0];
    if (row) return row.n;
    this.ctx.storage.sql.exec("INSERT INTO hits (n) VALUES (1)");
    return 1;
  }
}

export default {
  async fetch(request, env) {
    const tenant = request.headers.get("x-tenant") ?? "default";
    await env.COUNTER.get(env.COUNTER.idFromName(tenant)).increment();
    const url = new URL(request.url);
    return fetch(new Request(env.UPSTREAM + url.pathname + url.search, request));
  },
};
