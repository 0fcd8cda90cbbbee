// End to end: the real `npm run dev` stack (demo backends + wrangler dev), driven over HTTP by the seed's
// own `apiRequest` client, with the demo tenant's documented keys.
import { readFileSync } from "node:fs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startDevServer } from "./dev-server.mjs";
import { makeApiRequest } from "./seed-client.mjs";

const demo = JSON.parse(readFileSync(new URL("../../dev/seed/demo-keys.json", import.meta.url), "utf8"));
const keyFor = (name) => demo.find((k) => k.name === name).key;
const ADMIN = { authorization: "Bearer dev-admin-secret-change-me", "content-type": "application/json" };

let stack;
beforeAll(async () => {
  stack = await startDevServer();
});
afterAll(async () => {
  await stack?.stop();
});

describe("the seed client against npm run dev", () => {
  it("lists and creates tickets with the Read/Write demo key", async () => {
    const api = makeApiRequest(keyFor("Demo PSA Read/Write"), stack.baseUrl);
    const created = await api("/psa/tickets", { method: "POST", body: JSON.stringify({ title: "Printer on fire", priority: "high" }) });
    expect(created).toMatchObject({ id: expect.stringMatching(/^tkt_/), title: "Printer on fire", _etag: "v1" });
    const list = await api("/psa/tickets");
    expect(list.data.map((t) => t.id)).toContain(created.id);
  });

  it("surfaces each refusal as the code the client switches on", async () => {
    const rw = makeApiRequest(keyFor("Demo PSA Read/Write"), stack.baseUrl);
    const ro = makeApiRequest(keyFor("Demo PSA Read Only"), stack.baseUrl);
    const rmmOnly = makeApiRequest(keyFor("Demo RMM only"), stack.baseUrl);
    const unknown = makeApiRequest("osk_000000000000000000000000000000", stack.baseUrl);
    await expect(rw("/psa/tickets", { method: "POST", body: JSON.stringify({ priority: "urgent" }) })).rejects.toThrow("Validation failed");
    await expect(rw("/psa/tickets", { method: "POST", body: "{not json" })).rejects.toThrow("API error (INVALID_JSON)");
    await expect(ro("/psa/tickets", { method: "POST", body: JSON.stringify({ title: "x" }) })).rejects.toThrow("API error (FORBIDDEN)");
    await expect(rmmOnly("/psa/tickets")).rejects.toThrow("API error (PRODUCT_ACCESS_DENIED)");
    await expect(unknown("/psa/tickets")).rejects.toThrow("Authentication failed");
    await expect(rw("/psa/tickets/tkt_nonexistent")).rejects.toThrow("API error (NOT_FOUND)");
    await expect(rw("/psa/nothing-here")).rejects.toThrow("API error (NOT_FOUND)");
    await expect(rw("/psa/tickets", { headers: { "X-Demo-Fault": "html-502" } })).rejects.toThrow("API error (BAD_GATEWAY)");
    await expect(rw("/psa/tickets", { headers: { "X-Demo-Fault": "json-500" } })).rejects.toThrow("API error (BAD_GATEWAY)");
    await expect(rw("/psa/tickets", { headers: { "X-Demo-Fault": "json-400" } })).rejects.toThrow("Validation failed");
  });

  it("waits out a 429 by its Retry-After and then succeeds, asking again exactly once", async () => {
    // A 10 s window: three requests fit in it on the slowest machine, and the wait stays short. Nothing
    // races the clock: Retry-After is checked against the window and the time the requests took, and a
    // Retry-After that is too short is caught by the seed client asking a third time.
    const windowMs = 10_000;
    const leaseMs = 1_000; // RATE_LIMIT_LEASE_MS's default: a lease's permits may stay counted this much longer
    const tenantId = `e2e-${Date.now()}`;
    const created = await fetch(`${stack.baseUrl}/__gateway/admin/tenants/${tenantId}/keys`, { method: "POST", headers: ADMIN, body: JSON.stringify({ name: "e2e", access: { psa: "write" } }) });
    expect(created.status).toBe(201);
    const { key } = await created.json();
    const limited = await fetch(`${stack.baseUrl}/__gateway/admin/tenants/${tenantId}/rate-limit`, { method: "PUT", headers: ADMIN, body: JSON.stringify({ policies: [{ name: "tiny", limit: 2, window: "10s" }] }) });
    expect(limited.status).toBe(200);
    const headers = { "X-Integration-Key": key };
    const firstSentAt = Date.now();
    expect((await fetch(`${stack.baseUrl}/psa/tickets`, { headers })).status).toBe(200);
    expect((await fetch(`${stack.baseUrl}/psa/tickets`, { headers })).status).toBe(200);
    const refused = await fetch(`${stack.baseUrl}/psa/tickets`, { headers });
    const tookMs = Date.now() - firstSentAt;
    expect(refused.status).toBe(429);
    const retryAfter = Number(refused.headers.get("retry-after"));
    expect(await refused.json()).toEqual({ error: "Rate limit exceeded", code: "RATE_LIMIT_EXCEEDED", details: { limit: 2, window: "10s", retryAfter, policy: "tiny", scope: "tenant" } });
    // The oldest admission was made after firstSentAt and stays counted W plus at most a bucket (W/60, and
    // one more for rounding) and a lease's life (docs/rate-limiting.md, "Costs"): Retry-After lies between these bounds.
    expect(retryAfter).toBeGreaterThanOrEqual(Math.ceil((windowMs - tookMs) / 1000));
    expect(retryAfter).toBeLessThanOrEqual(Math.ceil((windowMs + leaseMs + (2 * windowMs) / 60) / 1000));

    // The seed client sleeps Retry-After seconds and retries; the truthful Retry-After admits that retry.
    const seen = [];
    const realFetch = globalThis.fetch;
    globalThis.fetch = async (input, init) => {
      const res = await realFetch(input, init);
      seen.push({ status: res.status, retryAfter: res.headers.get("retry-after"), at: Date.now() });
      return res;
    };
    let list;
    try {
      list = await makeApiRequest(key, stack.baseUrl)("/psa/tickets");
    } finally {
      globalThis.fetch = realFetch;
    }
    expect(list).toHaveProperty("data");
    expect(seen.map((s) => s.status)).toEqual([429, 200]);
    const waited = Number(seen[0].retryAfter);
    expect(waited).toBeGreaterThanOrEqual(1);
    expect(waited).toBeLessThanOrEqual(retryAfter);
    expect(seen[1].at - seen[0].at).toBeGreaterThanOrEqual(waited * 1000);
  });

  it("writes exactly one structured log line per request, with no credential in it", async () => {
    const requestId = `e2e-log-${Date.now()}`;
    const key = keyFor("Demo PSA Read/Write");
    const res = await fetch(`${stack.baseUrl}/psa/tickets?status=open`, { headers: { "X-Integration-Key": key, "X-Request-Id": requestId } });
    expect(res.status).toBe(200);
    expect(res.headers.get("x-request-id")).toBe(requestId);
    let lines = [];
    for (let i = 0; i < 50 && lines.length === 0; i++) {
      await new Promise((r) => setTimeout(r, 100));
      // The gateway's lines come through wrangler; the demo backends also log each request they serve.
      lines = stack.output().split("\n").filter((l) => l.startsWith("[wrangler]") && l.includes(requestId));
    }
    expect(lines).toHaveLength(1);
    const entry = JSON.parse(lines[0].slice(lines[0].indexOf("{")));
    expect(entry).toMatchObject({ msg: "request", requestId, method: "GET", path: "/psa/tickets", product: "psa", route: "GET /tickets", permission: "psa:tickets.read", tenant: "demo", principalType: "key", principalId: "key_de00000000000001", decision: "admitted", status: 200, upstreamStatus: 200 });
    expect(typeof entry.totalMs).toBe("number");
    expect(typeof entry.rateLimitRemaining).toBe("number");
    expect(lines[0]).not.toContain(key);
  });
});
