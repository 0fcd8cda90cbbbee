/**
 * `POST /__gateway/admin/tenants-file/validate` (src/admin/tenants-file.ts), the check behind
 * `npm run admin -- plan/apply`: the gateway's own schemas, unknown fields refused at every level, the
 * environment required and matched, every named key checked, every problem reported at once, nothing changed.
 */
import { describe, expect, it } from "vitest";
import { ADMIN, call, createKey, envelope, tenant } from "../support/gateway";

const validate = (file: unknown) => call("/__gateway/admin/tenants-file/validate", { method: "POST", headers: { ...ADMIN, "content-type": "application/json" }, body: JSON.stringify(file) });
const burst = { name: "burst", limit: 10, window: "1m" };

async function fields(file: unknown): Promise<Record<string, string>> {
  const res = await validate(file);
  expect(res.status).toBe(400);
  const body = await envelope(res);
  expect(body.code).toBe("VALIDATION_ERROR");
  return (body.details as { fields: Record<string, string> }).fields;
}

describe("POST /__gateway/admin/tenants-file/validate", () => {
  it("answers a valid file's entries in file order, and changes nothing", async () => {
    const t = tenant("tf");
    const { keyId } = await createKey(t, { psa: "read" });
    const other = tenant("tf");
    const res = await validate({ environment: "development", tenants: { [t]: { rateLimit: { policies: [burst] }, keys: { [keyId]: { rateLimit: { policies: [{ ...burst, mode: "shadow" }] } } } }, [other]: { rateLimit: null } } });
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({
      environment: "development",
      entries: [
        { tenantId: t, policies: [burst] },
        { tenantId: t, keyId, policies: [{ ...burst, mode: "shadow" }] },
        { tenantId: other, policies: null },
      ],
    });
    expect((await call(`/__gateway/admin/tenants/${t}/rate-limit`, { headers: ADMIN }).then((r) => r.json())) as object).toMatchObject({ overridden: false });
    expect((await call(`/__gateway/admin/tenants/${other}`, { headers: ADMIN })).status).toBe(404);
  });

  it("names every problem at once: unknown fields at each level, bad values, an unknown key, the wrong environment", async () => {
    const t = tenant("tf");
    const problems = await fields({
      environment: "production",
      tenants: {
        a: { ratelimit: { policies: [burst] } },
        b: { rateLimit: { policies: [{ ...burst, window: "1minute" }] } },
        c: { rateLimit: { policies: [{ ...burst, mode: "shdow" }] } },
        d: { rateLimit: { policies: [{ ...burst, mdoe: "shadow" }], extra: true } },
        [t]: { keys: { key_0123456789abcdef: { rateLimit: null }, "not-a-key": {} } },
      },
      extra: 1,
    });
    expect(problems).toEqual({
      extra: "Unknown field; one of $comment, environment, tenants",
      "tenants.a.ratelimit": "Unknown field; one of rateLimit, keys",
      "tenants.b.rateLimit.policies[0].window": expect.stringMatching(/^Must be a duration/),
      "tenants.c.rateLimit.policies[0].mode": 'Must be "enforce" or "shadow"',
      "tenants.d.rateLimit.policies[0].mdoe": expect.stringMatching(/^Unknown field; one of name, limit, window, mode/),
      "tenants.d.rateLimit.extra": "Unknown field; one of policies",
      [`tenants.${t}.keys.not-a-key`]: expect.stringMatching(/^Must be a key id/),
      [`tenants.${t}.keys.key_0123456789abcdef`]: "No such key for this tenant",
      environment: 'Must be "development", this gateway\'s environment: the file is for "production"',
    });
  });

  it("refuses tenants (or keys) given as a list, not read as an empty file", async () => {
    expect(await fields({ environment: "development", tenants: [] })).toEqual({ tenants: "Must be an object of tenant ids" });
    expect(await fields({ environment: "development", tenants: { a: { keys: [] } } })).toEqual({ "tenants.a.keys": "Must be an object of key ids" });
  });

  it("requires the environment", async () => {
    expect(await fields({ tenants: {} })).toEqual({ environment: expect.stringMatching(/^Must name the environment/) });
  });

  it("refuses a key of another tenant as unknown", async () => {
    const { keyId } = await createKey(tenant("tf-owner"), { psa: "read" });
    const t = tenant("tf");
    expect(await fields({ environment: "development", tenants: { [t]: { keys: { [keyId]: { rateLimit: null } } } } })).toEqual({ [`tenants.${t}.keys.${keyId}`]: "No such key for this tenant" });
  });
});
