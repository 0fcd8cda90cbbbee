/**
 * ADMIN_STORE_TIMEOUT_MS bounds every admin call to the tenant's object (issue 19, item 8): the limit
 * routes and the audit listing answer 503 SERVICE_UNAVAILABLE with Retry-After and `details.limiter`
 * at that deadline when the object never answers, and a change that was never confirmed is not logged as
 * made. Stand-ins at the binding never answer; the deadline's timer is moved, never waited for.
 */
import { describe, expect, it } from "vitest";
import { ADMIN, createKey, envelope, tenant } from "../support/gateway";
import { answeredAt } from "../support/deadline";
import { captureLogs } from "../support/logs";
import { silentLimiter, unavailableObject, withObjectBug } from "../support/silent-bindings";
import { TenantLimiter } from "../../src/ratelimit/tenant-limiter";
import { callWith, envWith } from "../support/worker";

const json = { ...ADMIN, "content-type": "application/json" };
const body = JSON.stringify({ policies: [{ name: "burst", limit: 5, window: "1m" }] });

async function expectUnavailable(res: Response): Promise<void> {
  expect(res.status).toBe(503);
  expect(res.headers.get("retry-after")).toBe("1");
  expect(await envelope(res)).toEqual({ error: expect.any(String), code: "SERVICE_UNAVAILABLE", details: { limiter: "failed" } });
}

describe("admin calls to the tenant's object have a deadline", () => {
  const cases: Array<[string, string, string, RequestInit, boolean]> = [
    ["reading a tenant's limits", "status", "/rate-limit", { headers: ADMIN }, false],
    ["setting a tenant's limits", "changePolicies", "/rate-limit", { method: "PUT", headers: json, body }, false],
    ["resetting a tenant's limits", "changePolicies", "/rate-limit", { method: "DELETE", headers: ADMIN }, false],
    ["reading a key's limits", "status", "/keys/{key}/rate-limit", { headers: ADMIN }, true],
    ["setting a key's limits", "changePolicies", "/keys/{key}/rate-limit", { method: "PUT", headers: json, body }, true],
    ["resetting a key's limits", "changePolicies", "/keys/{key}/rate-limit", { method: "DELETE", headers: ADMIN }, true],
    ["listing the audit trail", "listAudit", "/audit", { headers: ADMIN }, false],
  ];

  it.each(cases)("%s: 503 at ADMIN_STORE_TIMEOUT_MS when %s never answers", async (_what, method, suffix, init, needsKey) => {
    const t = tenant("adm-late");
    const path = needsKey ? suffix.replace("{key}", (await createKey(t, { psa: "read" })).keyId) : suffix;
    const lines = await captureLogs(async () => {
      const limiter = silentLimiter(method);
      const res = await answeredAt(30, () => limiter.asked > 0, () => callWith(envWith({ TENANT_LIMITER: limiter, ADMIN_STORE_TIMEOUT_MS: "30" }), `/__gateway/admin/tenants/${t}${path}`, init));
      await expectUnavailable(res);
    });
    expect(lines.filter((l) => l.includes('"msg":"admin change"'))).toEqual([]);
  });

  it("rolls a key when the tenant's object never takes its policies: 201 with propagation.limiter failed at ADMIN_STORE_TIMEOUT_MS", async () => {
    const t = tenant("adm-roll-late");
    const { keyId } = await createKey(t, { psa: "read" });
    const limiter = silentLimiter("inheritKeyPolicies");
    const res = await answeredAt(30, () => limiter.asked > 0, () => callWith(envWith({ TENANT_LIMITER: limiter, ADMIN_STORE_TIMEOUT_MS: "30" }), `/__gateway/admin/tenants/${t}/keys/${keyId}/roll`, { method: "POST", headers: json, body: JSON.stringify({ gracePeriod: "1h" }) }));
    expect(res.status).toBe(201);
    expect(((await res.json()) as { propagation: unknown }).propagation).toEqual({ directory: "written", kv: "written", limiter: "failed" });
  });

  it("answers 503 when the tenant's object fails a change (not a hang, not a 500)", async () => {
    const t = tenant("adm-fail");
    const failing = { getByName: () => ({ changePolicies: () => Promise.reject(unavailableObject({ durableObjectReset: true })) }) };
    await expectUnavailable(await callWith(envWith({ TENANT_LIMITER: failing }), `/__gateway/admin/tenants/${t}/rate-limit`, { method: "PUT", headers: json, body }));
  });

  it("answers 500 INTERNAL_ERROR and logs an exception, not 503, when the tenant's object's own code throws on a change", async () => {
    const t = tenant("adm-bug");
    // A bug in the object's changePolicies, run for real in the object: the call comes back with its error.
    let res: Response | undefined;
    const lines = await withObjectBug(TenantLimiter, "changePolicies", "Cannot read properties of undefined (reading 'mode')", () =>
      captureLogs(async () => {
        res = await callWith(envWith({}), `/__gateway/admin/tenants/${t}/rate-limit`, { method: "PUT", headers: json, body });
      }),
    );
    expect(res?.status).toBe(500);
    expect(await envelope(res as Response)).toEqual({ error: expect.any(String), code: "INTERNAL_ERROR", details: null });
    expect(res?.headers.get("retry-after")).toBeNull();
    expect(lines.map((l) => JSON.parse(l) as Record<string, unknown>)).toContainEqual(expect.objectContaining({ msg: "exception", error: expect.objectContaining({ message: expect.stringContaining("reading 'mode'") }) }));
  });
});
