import { describe, expect, it } from "vitest";
import { call, createKey, envelope, recorded, rid, tenant } from "../support/gateway";

describe("smoke", () => {
  it("forwards an authenticated request and the backend records it", async () => {
    const t = tenant();
    const { key } = await createKey(t, { psa: "write" });
    const id = rid();
    const res = await call("/psa/tickets", { headers: { "x-integration-key": key, "x-request-id": id } });
    expect(res.status).toBe(200);
    expect(res.headers.get("x-request-id")).toBe(id);
    const got = await recorded("psa", id);
    expect(got).toHaveLength(1);
    expect(got[0]?.url).toBe("/tickets");
    expect(got[0]?.headers["x-onestack-tenant-id"]).toBe(t);
  });

  it("answers an unknown route with NOT_FOUND", async () => {
    const res = await call("/nope");
    expect(res.status).toBe(404);
    expect((await envelope(res)).code).toBe("NOT_FOUND");
  });
});
