/**
 * The audit trail of admin changes: each change (key created, revoked; policies set, reset) recorded with
 * the admin identity, time, action, before and after, newest first, a page at a time, as a log line too;
 * plaintext keys never in it; retention bounded by count and age (the object's clock moved, never slept).
 * A trail that never answers is met with AUDIT_TIMEOUT_MS injected small, and its timer moved, never waited for.
 */
import { runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { afterEach, describe, expect, it, vi } from "vitest";
import { MAX_AGE_MS, MAX_ENTRIES, type AuditInput } from "../../src/audit/audit-log";
import type { TenantLimiter } from "../../src/ratelimit/tenant-limiter";
import { ADMIN, call, createKey, envelope, tenant } from "../support/gateway";
import { answeredAt } from "../support/deadline";
import { captureLogs } from "../support/logs";
import { silentLimiter } from "../support/silent-bindings";
import { callWith, envWith } from "../support/worker";

interface Entry { id: number; at: string; actor: string; action: string; keyId: string | null; before: unknown; after: unknown; requestId: string }
interface Page { tenantId: string; data: Entry[]; nextCursor: string | null }

const json = { ...ADMIN, "content-type": "application/json" };
const auditPath = (t: string, qs = "") => `/__gateway/admin/tenants/${t}/audit${qs}`;

async function page(t: string, qs = ""): Promise<{ text: string; body: Page }> {
  const res = await call(auditPath(t, qs), { headers: ADMIN });
  expect(res.status).toBe(200);
  const text = await res.text();
  return { text, body: JSON.parse(text) as Page };
}

afterEach(() => {
  vi.restoreAllMocks();
});

describe("audit trail of admin changes", () => {
  it("records a key's creation and revocation, with the admin identity, and never the plaintext key", async () => {
    const t = tenant("audit");
    const { key, keyId } = await createKey(t, { psa: "write" });
    expect((await call(`/__gateway/admin/tenants/${t}/keys/${keyId}`, { method: "DELETE", headers: ADMIN })).status).toBe(200);
    const { text, body } = await page(t);
    expect(text).not.toContain(key);
    expect(body.data.map((e) => e.action)).toEqual(["key.revoked", "key.created"]);
    const [revoked, created] = body.data;
    expect(created).toMatchObject({ actor: "admin-secret", keyId, before: null, after: { keyId, tenantId: t, access: { psa: "write" }, revokedAt: null } });
    expect(revoked).toMatchObject({ keyId, before: { revokedAt: null }, after: { keyId, revokedAt: expect.any(String) } });
    expect(Date.parse(created!.at)).toBeLessThanOrEqual(Date.parse(revoked!.at));
  });

  it("records policy changes with the policies before and after (null: the default)", async () => {
    const t = tenant("audit");
    const put = (limit: number) => call(`/__gateway/admin/tenants/${t}/rate-limit`, { method: "PUT", headers: json, body: JSON.stringify({ policies: [{ name: "burst", limit, window: "1m" }] }) });
    expect((await put(5)).status).toBe(200);
    expect((await put(9)).status).toBe(200);
    expect((await call(`/__gateway/admin/tenants/${t}/rate-limit`, { method: "DELETE", headers: ADMIN })).status).toBe(200);
    const { body } = await page(t);
    const burst = (limit: number) => [{ name: "burst", limit, window: "1m", mode: "enforce", scope: "tenant" }];
    expect(body.data.map((e) => [e.action, e.before, e.after])).toEqual([
      ["rate-limit.reset", burst(9), null],
      ["rate-limit.set", burst(5), burst(9)],
      ["rate-limit.set", null, burst(5)],
    ]);
  });

  it("does not record a refused change", async () => {
    const t = tenant("audit");
    const res = await call(`/__gateway/admin/tenants/${t}/rate-limit`, { method: "PUT", headers: json, body: JSON.stringify({ policies: [] }) });
    expect(res.status).toBe(400);
    expect((await page(t)).body.data).toEqual([]);
  });

  it("writes each change as a log line with the request id, without the plaintext key", async () => {
    const t = tenant("audit");
    const lines: string[] = [];
    vi.spyOn(console, "log").mockImplementation((...args: unknown[]) => void lines.push(args.map(String).join(" ")));
    const { key, keyId } = await createKey(t, { rmm: "read" });
    vi.restoreAllMocks();
    const changes = lines.map((l) => JSON.parse(l) as Record<string, unknown>).filter((l) => l.msg === "admin change");
    expect(changes).toEqual([expect.objectContaining({ tenant: t, action: "key.created", keyId, actor: "admin-secret", requestId: expect.any(String) })]);
    expect(lines.join("\n")).not.toContain(key);
  });

  it("answers the change when the audit trail never answers, at AUDIT_TIMEOUT_MS not the 2 s default, and logs that it was not stored", async () => {
    const t = tenant("audit-late");
    const limiter = silentLimiter("recordAudit");
    let res: Response | null = null;
    const lines = await captureLogs(async () => {
      res = await answeredAt(50, () => limiter.asked > 0, () => callWith(envWith({ TENANT_LIMITER: limiter, AUDIT_TIMEOUT_MS: "50" }), `/__gateway/admin/tenants/${t}/keys`, { method: "POST", headers: json, body: JSON.stringify({ name: "k", access: { psa: "read" } }) }));
    });
    expect(res!.status).toBe(201);
    const created = (await res!.json()) as { keyId: string; propagation: unknown };
    expect(created.propagation).toEqual({ directory: "written", kv: "written" });
    const requestId = res!.headers.get("x-request-id");
    const logged = lines.map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(logged.filter((l) => l.msg === "admin change")).toEqual([expect.objectContaining({ tenant: t, action: "key.created", keyId: created.keyId, requestId })]);
    expect(logged.filter((l) => l.msg === "admin change not stored in the audit trail")).toEqual([expect.objectContaining({ level: "error", tenant: t, requestId, reason: "no answer within 50 ms" })]);
    expect((await page(t)).body.data).toEqual([]);
  });

  it("pages newest first with a cursor until nextCursor is null", async () => {
    const t = tenant("audit");
    for (let i = 1; i <= 5; i++) {
      const res = await call(`/__gateway/admin/tenants/${t}/rate-limit`, { method: "PUT", headers: json, body: JSON.stringify({ policies: [{ name: "burst", limit: i, window: "1m" }] }) });
      expect(res.status).toBe(200);
    }
    const seen: number[] = [];
    let cursor: string | null = null;
    for (let n = 0; n < 4; n++) {
      const { body }: { body: Page } = await page(t, `?limit=2${cursor === null ? "" : `&cursor=${cursor}`}`);
      seen.push(...body.data.map((e) => (e.after as Array<{ limit: number }>)[0]!.limit));
      cursor = body.nextCursor;
      if (cursor === null) break;
    }
    expect(seen).toEqual([5, 4, 3, 2, 1]);
    expect(cursor).toBeNull();
  });

  it.each([
    ["limit=0", "limit"],
    ["limit=101", "limit"],
    ["limit=abc", "limit"],
    ["cursor=x", "cursor"],
    ["limit=5&limit=100", "limit"],
    ["cursor=1&cursor=2", "cursor"],
  ])("refuses ?%s with VALIDATION_ERROR naming %s", async (qs, field) => {
    const res = await call(auditPath(tenant("audit"), `?${qs}`), { headers: ADMIN });
    expect(res.status).toBe(400);
    const body = await envelope(res);
    expect(body.code).toBe("VALIDATION_ERROR");
    expect(Object.keys((body.details?.fields ?? {}) as object)).toEqual([field]);
  });

  it("refuses a bad tenant id with VALIDATION_ERROR on tenantId", async () => {
    const res = await call(auditPath("a.b"), { headers: ADMIN });
    expect(res.status).toBe(400);
    expect(Object.keys(((await envelope(res)).details?.fields ?? {}) as object)).toEqual(["tenantId"]);
  });
});

describe("audit retention", () => {
  const entry = (i: number): AuditInput => ({ actor: "test", action: "rate-limit.set", keyId: null, before: null, after: { i }, requestId: `r${i}` });
  const T0 = 1_800_000_000_000;

  it(`keeps the newest ${MAX_ENTRIES} entries`, async () => {
    const stub = env.TENANT_LIMITER.getByName(tenant("audit-cap"));
    const count = await runInDurableObject(stub, async (instance: TenantLimiter, state) => {
      instance.clock = () => T0;
      for (let i = 1; i <= MAX_ENTRIES + 5; i++) await instance.recordAudit(entry(i));
      const first = (await instance.listAudit({ limit: 1, before: null })).data[0];
      expect(first?.after).toEqual({ i: MAX_ENTRIES + 5 });
      return state.storage.sql.exec<{ n: number }>("SELECT COUNT(*) AS n FROM audit").one();
    });
    expect(count.n).toBe(MAX_ENTRIES);
    const oldest = await runInDurableObject(stub, (_i: TenantLimiter, state) => state.storage.sql.exec<{ after: string }>("SELECT after FROM audit ORDER BY id LIMIT 1").one().after);
    expect(JSON.parse(oldest)).toEqual({ i: 6 });
  });

  it("stops listing entries older than 90 days and drops them at the next write", async () => {
    const stub = env.TENANT_LIMITER.getByName(tenant("audit-age"));
    await runInDurableObject(stub, async (instance: TenantLimiter, state) => {
      let now = T0;
      instance.clock = () => now;
      await instance.recordAudit(entry(1));
      now = T0 + MAX_AGE_MS - 1;
      expect((await instance.listAudit({ limit: 10, before: null })).data).toHaveLength(1);
      now = T0 + MAX_AGE_MS + 1;
      expect((await instance.listAudit({ limit: 10, before: null })).data).toEqual([]);
      await instance.recordAudit(entry(2));
      expect(state.storage.sql.exec<{ n: number }>("SELECT COUNT(*) AS n FROM audit").one().n).toBe(1);
    });
  });
});
