/**
 * `app.onError` with Hono's own `HTTPException` (thrown by Hono middleware such as the validator or
 * body-limit): a client error keeps its status and leaves as the envelope with the matching code, never
 * as a 500.
 */
import { Hono } from "hono";
import { HTTPException } from "hono/http-exception";
import { describe, expect, it } from "vitest";
import type { AppEnv } from "../../src/env";
import { notFound, onError } from "../../src/error-handler";

function appThrowing(err: unknown): Hono<AppEnv> {
  const app = new Hono<AppEnv>();
  app.onError(onError);
  app.notFound(notFound);
  app.get("/x", () => {
    throw err;
  });
  return app;
}

describe("onError with HTTPException", () => {
  it.each([
    [400, "VALIDATION_ERROR"],
    [401, "UNAUTHORIZED"],
    [403, "FORBIDDEN"],
    [404, "NOT_FOUND"],
    [405, "METHOD_NOT_ALLOWED"],
    [409, "CONFLICT"],
    [413, "PAYLOAD_TOO_LARGE"],
    [429, "RATE_LIMIT_EXCEEDED"],
    [502, "BAD_GATEWAY"],
    [503, "SERVICE_UNAVAILABLE"],
    [504, "GATEWAY_TIMEOUT"],
  ] as const)("answers HTTPException(%i) with that status and code %s", async (status, code) => {
    const res = await appThrowing(new HTTPException(status, { message: "internal detail" })).request("/x");
    expect(res.status).toBe(status);
    expect(res.headers.get("content-type")).toBe("application/json; charset=utf-8");
    const body = (await res.json()) as { code: string; error: string };
    expect(body.code).toBe(code);
  });

  it("answers an unlisted client status (415) with that status and VALIDATION_ERROR", async () => {
    const res = await appThrowing(new HTTPException(415)).request("/x");
    expect(res.status).toBe(415);
    expect(((await res.json()) as { code: string }).code).toBe("VALIDATION_ERROR");
  });

  it("keeps VALIDATION_ERROR's details.fields shape for a 400", async () => {
    const res = await appThrowing(new HTTPException(400)).request("/x");
    expect(((await res.json()) as { details: unknown }).details).toEqual({ fields: {} });
  });

  it("keeps the WWW-Authenticate and Retry-After headers of the exception's response", async () => {
    const res401 = await appThrowing(new HTTPException(401, { res: new Response(null, { status: 401, headers: { "WWW-Authenticate": 'Bearer realm="admin"' } }) })).request("/x");
    expect(res401.headers.get("www-authenticate")).toBe('Bearer realm="admin"');
    const res429 = await appThrowing(new HTTPException(429, { res: new Response(null, { status: 429, headers: { "Retry-After": "7" } }) })).request("/x");
    expect(res429.headers.get("retry-after")).toBe("7");
  });

  it("does not copy other headers (a Set-Cookie) from the exception's response", async () => {
    const res = await appThrowing(new HTTPException(400, { res: new Response(null, { status: 400, headers: { "Set-Cookie": "a=b" } }) })).request("/x");
    expect(res.headers.get("set-cookie")).toBeNull();
  });

  it("answers an unlisted server status (500, 501) with 500 INTERNAL_ERROR", async () => {
    for (const status of [500, 501] as const) {
      const res = await appThrowing(new HTTPException(status)).request("/x");
      expect(res.status).toBe(500);
      expect(((await res.json()) as { code: string }).code).toBe("INTERNAL_ERROR");
    }
  });

  it("still answers a plain Error with 500 INTERNAL_ERROR", async () => {
    const res = await appThrowing(new Error("boom")).request("/x");
    expect(res.status).toBe(500);
    expect(((await res.json()) as { code: string }).code).toBe("INTERNAL_ERROR");
  });
});
