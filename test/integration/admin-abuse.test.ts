/**
 * The admin API against a hostile client: failed authentications are limited per client address (the
 * Workers Rate Limiting binding, 10 per 60 s), and a body is capped at 16 KiB while it is read.
 * Each test uses client addresses of its own, so no test's failures count against another's. A binding that
 * never answers counts as a refusal at AUTH_LIMITER_TIMEOUT_MS (set small, its timer fired by hand: no wall clock).
 */
import { describe, expect, it } from "vitest";
import { lookupAddress as clientAddressKey } from "../../src/security/address-limit";
import { ADMIN, call, envelope, tenant } from "../support/gateway";
import { answeredAfter } from "../support/deadline";
import { silentRateLimit } from "../support/silent-bindings";
import { callWith, envWith } from "../support/worker";

const LIMIT = 10;
const keysPath = (t: string) => `/__gateway/admin/tenants/${t}/keys`;

/** A client address no other test uses (documentation range 2001:db8::/32). */
function address(): string {
  const hex = () => Math.floor(Math.random() * 0x10000).toString(16);
  return `2001:db8:${hex()}:${hex()}::${hex()}`;
}

function list(t: string, ip: string, secret: string | null) {
  return call(keysPath(t), { headers: { "cf-connecting-ip": ip, ...(secret === null ? {} : { authorization: `Bearer ${secret}` }) } });
}

const GOOD = ADMIN.authorization.slice("Bearer ".length);

describe("admin API: failed authentications per client address", () => {
  it("answers 401 to the first 10 failures, then 429 RATE_LIMIT_EXCEEDED with Retry-After, even for the right secret", async () => {
    const t = tenant();
    const ip = address();
    for (let i = 0; i < LIMIT; i++) {
      const res = await list(t, ip, `wrong-secret-guess-${i}`);
      expect(res.status).toBe(401);
      expect((await envelope(res)).code).toBe("UNAUTHORIZED");
    }
    const limited = await list(t, ip, "wrong-secret-guess-x");
    expect(limited.status).toBe(429);
    expect(limited.headers.get("retry-after")).toBe("60");
    expect((await envelope(limited)).code).toBe("RATE_LIMIT_EXCEEDED");
    // A guess that happens to be right must not be told apart from a wrong one while the address is limited.
    const right = await list(t, ip, GOOD);
    expect(right.status).toBe(429);
    expect((await envelope(right)).code).toBe("RATE_LIMIT_EXCEEDED");
  });

  it("counts a missing Authorization header as a failure", async () => {
    const ip = address();
    for (let i = 0; i < LIMIT; i++) expect((await list(tenant(), ip, null)).status).toBe(401);
    expect((await list(tenant(), ip, null)).status).toBe(429);
  });

  it("counts an IPv6 /64 as one address: failures spread over its addresses are limited together", async () => {
    const prefix = address().split("::")[0] ?? "";
    for (let i = 0; i < LIMIT; i++) expect((await list(tenant(), `${prefix}::${(i + 1).toString(16)}`, "wrong-secret-guess")).status).toBe(401);
    expect((await list(tenant(), `${prefix}:ffff:ffff:ffff:ffff`, "wrong-secret-guess")).status).toBe(429);
  });

  it("keeps other addresses unaffected by one address's failures", async () => {
    const noisy = address();
    for (let i = 0; i <= LIMIT; i++) await list(tenant(), noisy, "wrong-secret-guess");
    const other = address();
    expect((await list(tenant(), other, GOOD)).status).toBe(200);
    expect((await list(tenant(), other, "wrong-secret-guess")).status).toBe(401);
  });

  it("does not count successful authentications", async () => {
    const ip = address();
    for (let i = 0; i < LIMIT + 5; i++) expect((await list(tenant(), ip, GOOD)).status).toBe(200);
    expect((await list(tenant(), ip, "wrong-secret-guess")).status).toBe(401);
  });

  it("counts a binding that never answers as a refusal at AUTH_LIMITER_TIMEOUT_MS, not the 1 s default: the first failure is 429, the right secret too", async () => {
    const t = tenant();
    const ip = address();
    const silent = envWith({ ADMIN_AUTH_LIMITER: silentRateLimit(), AUTH_LIMITER_TIMEOUT_MS: "50" });
    const res = await answeredAfter([50], () => callWith(silent, keysPath(t), { headers: { "cf-connecting-ip": ip, authorization: "Bearer wrong-secret-guess" } }));
    expect(res.status).toBe(429);
    expect(res.headers.get("retry-after")).toBe("60");
    expect(await envelope(res)).toEqual({ error: expect.any(String), code: "RATE_LIMIT_EXCEEDED", details: { limit: LIMIT, window: "1m", retryAfter: 60 } });
    // Fail closed: the address is refused for the period before its secret is compared.
    const right = await callWith(envWith({}), keysPath(t), { headers: { "cf-connecting-ip": ip, ...ADMIN } });
    expect(right.status).toBe(429);
    expect((await envelope(right)).code).toBe("RATE_LIMIT_EXCEEDED");
  });

  it("keys the limit by CF-Connecting-IP, with one fixed key for requests without it", () => {
    expect(clientAddressKey(new Headers({ "cf-connecting-ip": "203.0.113.7" }))).toBe("203.0.113.7");
    expect(clientAddressKey(new Headers({ "x-forwarded-for": "203.0.113.8" }))).toBe(clientAddressKey(new Headers()));
  });
});

/** A request body that sends `bytes` and then never ends (the client stalls). */
function stallingBody(bytes: number): ReadableStream<Uint8Array> {
  return new ReadableStream({
    start(controller) {
      controller.enqueue(new TextEncoder().encode(`{"name":"${"n".repeat(Math.max(0, bytes - 10))}`));
    },
  });
}

describe("admin API: body cap", () => {
  const post = (t: string, body: BodyInit, headers: Record<string, string> = {}) =>
    call(keysPath(t), { method: "POST", headers: { ...ADMIN, "content-type": "application/json", ...headers }, body, ...({ duplex: "half" } as object) });

  it("answers 413 PAYLOAD_TOO_LARGE as soon as a body passes 16 KiB, without waiting for its end", async () => {
    const res = await post(tenant(), stallingBody(17 * 1024));
    expect(res.status).toBe(413);
    expect(await envelope(res)).toMatchObject({ code: "PAYLOAD_TOO_LARGE", details: { limit: 16 * 1024 } });
  });

  it("answers 400 VALIDATION_ERROR to a body that stalls, after the upload idle timeout, instead of waiting for ever", async () => {
    const env = envWith({ UPLOAD_IDLE_TIMEOUT_MS: "100" });
    const res = await callWith(env, keysPath(tenant()), {
      method: "POST",
      headers: { ...ADMIN, "content-type": "application/json" },
      body: stallingBody(100),
      ...({ duplex: "half" } as object),
    });
    expect(res.status).toBe(400);
    expect(await envelope(res)).toMatchObject({ code: "VALIDATION_ERROR", details: { idleTimeoutMs: 100, fields: { body: expect.stringMatching(/incomplete/) } } });
  });

  it("answers 413 from a Content-Length over 16 KiB before reading the body", async () => {
    const res = await post(tenant(), stallingBody(100), { "content-length": String(16 * 1024 + 1) });
    expect(res.status).toBe(413);
    expect((await envelope(res)).code).toBe("PAYLOAD_TOO_LARGE");
  });

  it("counts bytes, not characters: 6000 three-byte characters are over the cap", async () => {
    const res = await post(tenant(), JSON.stringify({ name: "€".repeat(6000), access: { psa: "read" } }));
    expect(res.status).toBe(413);
    expect((await envelope(res)).code).toBe("PAYLOAD_TOO_LARGE");
  });

  it("accepts a body just under the cap", async () => {
    // Padded with JSON whitespace: an unknown field would be refused (src/admin/unknown-fields.ts).
    const body = `{"name":"k","access":{"psa":"read"}${" ".repeat(16 * 1024 - 60)}}`;
    expect(new TextEncoder().encode(body).length).toBeLessThanOrEqual(16 * 1024);
    expect((await post(tenant(), body)).status).toBe(201);
  });

  it.each([
    ["a UTF-8 byte order mark before the JSON", new Uint8Array([0xef, 0xbb, 0xbf, ...new TextEncoder().encode('{"name":"k","access":{"psa":"read"}}')])],
    ["bytes that are not UTF-8", new Uint8Array([...new TextEncoder().encode('{"name":"'), 0xff, ...new TextEncoder().encode('","access":{"psa":"read"}}')])],
  ])("refuses %s with INVALID_JSON", async (_label, bytes) => {
    const res = await post(tenant(), bytes);
    expect(res.status).toBe(400);
    expect((await envelope(res)).code).toBe("INVALID_JSON");
  });
});
