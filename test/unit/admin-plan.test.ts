/**
 * The pure half of `npm run admin -- plan/apply` (scripts/admin/tenants-file.mjs): reading a tenants file
 * and the change each entry needs against the live limit view.
 */
import { describe, expect, it } from "vitest";
import { diffEntry, readTenantsFile } from "../../scripts/admin/tenants-file.mjs";
import example from "../../config/tenants.development.json";

const burst = { name: "burst", limit: 100, window: "1m" };

describe("readTenantsFile", () => {
  it("reads the example file: a set of policies, another, and a reset", () => {
    const { environment, entries } = readTenantsFile(example);
    expect(environment).toBe("development");
    expect(entries.map((e) => [e.tenantId, e.policies === null ? null : e.policies.length])).toEqual([["acme", 2], ["globex", 1], ["initech", null]]);
  });

  it("reads per-key entries and leaves tenants without rateLimit alone", () => {
    const { entries } = readTenantsFile({ tenants: { a: { keys: { key_0123456789abcdef: { rateLimit: { policies: [{ ...burst, mode: "shadow" }] } } } } } });
    expect(entries).toEqual([{ tenantId: "a", keyId: "key_0123456789abcdef", policies: [{ ...burst, mode: "shadow" }] }]);
  });

  it.each([
    ["no tenants", {}],
    ["a policy without a limit", { tenants: { a: { rateLimit: { policies: [{ name: "b", window: "1m" }] } } } }],
    ["rateLimit as a list", { tenants: { a: { rateLimit: [burst] } } }],
    ["a tenant that is not an object", { tenants: { a: 5 } }],
  ])("refuses a file with %s as a usage error (exit 2)", (_label, doc) => {
    expect(() => readTenantsFile(doc)).toThrow(expect.objectContaining({ name: "UsageError" }));
  });
});

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

  it("resets an override when the file says null", () => {
    expect(diffEntry({ tenantId: "a", policies: null }, live(true))).toEqual({ tenantId: "a", action: "reset", before: [burst], after: null });
  });
});
