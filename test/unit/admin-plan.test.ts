/**
 * The pure half of `npm run admin -- plan/apply/dump` (scripts/admin/tenants-file.mjs): the change each
 * entry needs against the live limit view, and the live state written as a tenants file. (The file itself is
 * validated by the gateway: test/integration/admin-tenants-file.test.ts.)
 */
import { describe, expect, it } from "vitest";
import { diffEntry, tenantsFileOf } from "../../scripts/admin/tenants-file.mjs";

const burst = { name: "burst", limit: 100, window: "1m" };

describe("diffEntry", () => {
  const live = (overridden: boolean, policies = [burst]) => ({ overridden, policies });

  it("is null when the environment matches, whatever the policy order or window spelling", () => {
    const hourly = { name: "hourly", limit: 5, window: "1h" };
    expect(diffEntry({ tenantId: "a", policies: [hourly, { ...burst, window: "60s" }] }, live(true, [burst, hourly]))).toBeNull();
    expect(diffEntry({ tenantId: "a", policies: null }, live(false))).toBeNull();
  });

  it("sets policies on a tenant that has the default", () => {
    expect(diffEntry({ tenantId: "a", policies: [burst] }, live(false))).toEqual({ tenantId: "a", action: "set", before: null, after: [burst] });
  });

  it("changes a different override, naming before and after", () => {
    const after = [{ ...burst, limit: 200 }];
    expect(diffEntry({ tenantId: "a", policies: after }, live(true))).toEqual({ tenantId: "a", action: "change", before: [burst], after });
  });

  it("treats a shadow policy as different from the same enforced one", () => {
    expect(diffEntry({ tenantId: "a", keyId: "key_0123456789abcdef", policies: [{ ...burst, mode: "shadow" }] }, live(true))?.action).toBe("change");
  });

  it("sets policies on a tenant the gateway does not know yet, marked as new", () => {
    expect(diffEntry({ tenantId: "a", policies: [burst] }, null)).toEqual({ tenantId: "a", action: "set", before: null, after: [burst], newTenant: true });
    expect(diffEntry({ tenantId: "a", policies: null }, null)).toBeNull();
  });

  it("resets an override when the file says null", () => {
    expect(diffEntry({ tenantId: "a", policies: null }, live(true))).toEqual({ tenantId: "a", action: "reset", before: [burst], after: null });
  });
});

describe("tenantsFileOf", () => {
  it("writes each tenant's override (null for the default) and each key with policies of its own, which diff as no change", () => {
    const shadow = { name: "k", limit: 3, window: "1m", mode: "shadow" as const };
    const tenants = [
      { tenantId: "a", view: { overridden: true, policies: [{ ...burst, mode: "enforce" as const }] }, keyViews: [{ keyId: "key_0123456789abcdef", view: { overridden: true, policies: [shadow] } }] },
      { tenantId: "b", view: { overridden: false, policies: [burst] }, keyViews: [] },
    ];
    const file = tenantsFileOf("staging", tenants);
    expect(file).toEqual({
      environment: "staging",
      tenants: { a: { rateLimit: { policies: [burst] }, keys: { key_0123456789abcdef: { rateLimit: { policies: [shadow] } } } }, b: { rateLimit: null } },
    });
    expect(diffEntry({ tenantId: "a", policies: [burst] }, tenants[0]!.view)).toBeNull();
    expect(diffEntry({ tenantId: "a", keyId: "key_0123456789abcdef", policies: [shadow] }, tenants[0]!.keyViews[0]!.view)).toBeNull();
    expect(diffEntry({ tenantId: "b", policies: null }, tenants[1]!.view)).toBeNull();
  });
});
