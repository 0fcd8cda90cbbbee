/**
 * Method-override spellings a framework would honour, in the forms frameworks normalize names to: each is
 * refused with VALIDATION_ERROR naming it as sent, and nothing is forwarded.
 */
import { describe, expect, it } from "vitest";
import { call, createKey, envelope, recorded, rid, tenant } from "../support/gateway";

async function send(path: string, headers: Array<[string, string]>) {
  const { key } = await createKey(tenant("mo"), { psa: "write" });
  const id = rid("mo");
  const all = new Headers(headers);
  all.set("x-integration-key", key);
  all.set("x-request-id", id);
  const res = await call(path, { headers: all });
  const body = res.status >= 400 ? await envelope(res) : null;
  return { status: res.status, code: body?.code, fields: Object.keys((body?.details?.fields ?? {}) as object), forwarded: await recorded("psa", id) };
}

describe("method override in the query", () => {
  it.each([
    ["_method[]=DELETE", "_method[]"],
    ["_METHOD=DELETE", "_METHOD"],
    ["_Method=DELETE", "_Method"],
    ["%5Fmethod=DELETE", "_method"],
    ["_method%5B0%5D=DELETE", "_method[0]"],
    ["+_method=DELETE", " _method"],
  ])("refuses ?%s with VALIDATION_ERROR naming %s", async (query, field) => {
    const result = await send(`/psa/tickets?page=1&${query}`, []);
    expect(result).toMatchObject({ status: 400, code: "VALIDATION_ERROR", fields: [field] });
    expect(result.forwarded).toEqual([]);
  });

  it("forwards a parameter that merely contains the word", async () => {
    const result = await send("/psa/tickets?payment_method=card", []);
    expect(result.status).toBe(200);
    expect(result.forwarded[0]?.url).toBe("/tickets?payment_method=card");
  });
});

describe("method override in headers", () => {
  it.each(["X-Original-Method", "X_HTTP_Method_Override", "X-HTTP_Method"])("refuses %s with VALIDATION_ERROR naming it", async (name) => {
    const result = await send("/psa/tickets", [[name, "DELETE"]]);
    expect(result).toMatchObject({ status: 400, code: "VALIDATION_ERROR", fields: [name.toLowerCase()] });
    expect(result.forwarded).toEqual([]);
  });
});
