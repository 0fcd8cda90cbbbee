/**
 * The client's side of the exchange with a product (issue 9, items 4, 11, 17): the product timeout is for
 * the product's answer, not the client's upload; a stalled client has its own bound; a JSON body the
 * gateway accepts is one every parser reads alike; and a refused body is drained (bounded) before its 413.
 */
import { beforeAll, describe, expect, it } from "vitest";
import { createKey, envelope, expectBodyBrokenOff, recorded, rid, tenant } from "../support/gateway";
import { callWith, envWith } from "../support/worker";

let key = "";
let ticket = "";
beforeAll(async () => {
  ({ key } = await createKey(tenant("bodies"), { psa: "write" }));
  const res = await callWith(envWith({}), "/psa/tickets", { method: "POST", headers: { "x-integration-key": key, "content-type": "application/json" }, body: '{"title":"upload target"}' });
  ticket = ((await res.json()) as { id: string }).id;
});

interface Source {
  stream: ReadableStream<Uint8Array>;
  /** Chunks the gateway has pulled so far. */
  sent: () => number;
}

/**
 * `count` copies of `chunk`, pulled on demand. `delayMs` spaces the chunks out (a slow client); from chunk
 * `stallAt` on, the stream never delivers again (a client that went quiet mid-upload).
 */
function source(chunk: Uint8Array, count: number, opts: { delayMs?: number; stallAt?: number } = {}): Source {
  let pulled = 0;
  const stream = new ReadableStream<Uint8Array>(
    {
      async pull(controller) {
        if (pulled === opts.stallAt) return new Promise<void>(() => undefined);
        if (pulled === count) return controller.close();
        if (opts.delayMs !== undefined) await new Promise((r) => setTimeout(r, opts.delayMs));
        pulled += 1;
        controller.enqueue(chunk);
      },
    },
    { highWaterMark: 0 },
  );
  return { stream, sent: () => pulled };
}

const CHUNK = 64 * 1024;

function upload(env: Env, body: BodyInit, headers: Record<string, string> = {}, path = `/psa/tickets/${ticket}/attachments`): Promise<Response> {
  return callWith(env, path, { method: "POST", headers: { "x-integration-key": key, "content-type": "application/octet-stream", ...headers }, body });
}

describe("the product timeout starts when the upload has been handed over (item 4)", () => {
  it.each([
    ["chunked", {}],
    ["with Content-Length", { "content-length": String(6 * 16 * 1024) }],
  ])("lets a slow but valid upload (%s) outlast the product timeout, forwarding every byte", async (_kind, extra) => {
    const id = rid();
    // 6 chunks 100 ms apart: the upload alone takes twice the product timeout.
    const { stream } = source(new Uint8Array(16 * 1024).fill(7), 6, { delayMs: 100 });
    const res = await upload(envWith({ UPSTREAM_TIMEOUT_MS_PSA: "300" }), stream, { "x-request-id": id, ...extra });
    expect(res.status).toBe(201);
    expect(await res.json()).toMatchObject({ size: 6 * 16 * 1024 });
    const [entry] = await recorded("psa", id);
    expect(entry?.bodyLength).toBe(6 * 16 * 1024);
  });

  it("answers a client that stalls mid-upload with 400 VALIDATION_ERROR and never ends the product's body cleanly", async () => {
    const id = rid();
    const { stream } = source(new Uint8Array(CHUNK), 10, { stallAt: 2 });
    const res = await upload(envWith({ UPLOAD_IDLE_TIMEOUT_MS: "100" }), stream, { "x-request-id": id });
    expect(res.status).toBe(400);
    expect(await envelope(res)).toMatchObject({ code: "VALIDATION_ERROR", details: { fields: { body: expect.any(String) }, idleTimeoutMs: 100 } });
    expect((await expectBodyBrokenOff("psa", id, 2 * CHUNK)).bodyLength).toBe(2 * CHUNK);
  });

  it("answers a client that stalls mid-way through a JSON body with 400 VALIDATION_ERROR, forwarding nothing", async () => {
    const id = rid();
    const { stream } = source(new TextEncoder().encode('{"title":"'), 5, { stallAt: 1 });
    const res = await upload(envWith({ UPLOAD_IDLE_TIMEOUT_MS: "100" }), stream, { "x-request-id": id, "content-type": "application/json" }, "/psa/tickets");
    expect(res.status).toBe(400);
    expect(await envelope(res)).toMatchObject({ code: "VALIDATION_ERROR", details: { idleTimeoutMs: 100 } });
    expect(await recorded("psa", id)).toHaveLength(0);
  });

  it("never hands the product a body shorter than its Content-Length as a clean end", async () => {
    const id = rid();
    const { stream } = source(new Uint8Array(CHUNK).fill(3), 2);
    const res = await upload(envWith({}), stream, { "x-request-id": id, "content-length": String(3 * CHUNK) });
    expect(res.status).toBeGreaterThanOrEqual(400);
    await expectBodyBrokenOff("psa", id, 2 * CHUNK);
  });

  it("answers 504 GATEWAY_TIMEOUT when the product stops taking the upload", async () => {
    const { stream } = source(new Uint8Array(CHUNK), 1024); // 64 MiB: more than the loopback socket buffers hold
    const env = envWith({ UPSTREAM_TIMEOUT_MS_PSA: "300", MAX_BODY_BYTES: String(100 * 1024 * 1024) });
    const res = await upload(env, stream, { "x-demo-fault": "no-read=20000" });
    expect(res.status).toBe(504);
    expect(await envelope(res)).toMatchObject({ code: "GATEWAY_TIMEOUT", details: { timeoutMs: 300 } });
  });
});

describe("the JSON check agrees with the product's parser (item 11)", () => {
  function postJson(bytes: Uint8Array | string, contentType = "application/json"): { id: string; res: Promise<Response> } {
    const id = rid();
    return { id, res: upload(envWith({}), bytes, { "x-request-id": id, "content-type": contentType }, "/psa/tickets") };
  }

  it.each([
    ["a UTF-8 byte order mark", Uint8Array.from([0xef, 0xbb, 0xbf, ...new TextEncoder().encode('{"title":"bom"}')])],
    ["a lone high surrogate escape", '{"title":"\\ud800"}'],
    ["a lone low surrogate escape in a member name", '{"\\udc00":"x","title":"y"}'],
  ])("refuses %s with 400 INVALID_JSON, forwarding nothing", async (_what, body) => {
    const { id, res } = postJson(body);
    const answer = await res;
    expect(answer.status).toBe(400);
    expect((await envelope(answer)).code).toBe("INVALID_JSON");
    expect(await recorded("psa", id)).toHaveLength(0);
  });

  it("accepts an escaped surrogate pair and forwards the exact bytes", async () => {
    const body = '{"title":"\\ud83d\\ude00"}';
    const { id, res } = postJson(body);
    expect((await res).status).toBe(201);
    const [entry] = await recorded("psa", id);
    expect(atob(entry?.bodyBase64 ?? "")).toBe(body);
  });

  it("refuses a JSON body declared in a charset other than UTF-8, naming Content-Type", async () => {
    const { id, res } = postJson('{"title":"x"}', 'application/json; charset="UTF-16"');
    const answer = await res;
    expect(answer.status).toBe(400);
    expect(await envelope(answer)).toMatchObject({ code: "VALIDATION_ERROR", details: { fields: { "Content-Type": expect.any(String) } } });
    expect(await recorded("psa", id)).toHaveLength(0);
  });

  it("accepts charset=utf-8 in any case", async () => {
    const { res } = postJson('{"title":"x"}', "application/json; Charset=UTF-8");
    expect((await res).status).toBe(201);
  });
});

describe("a refused body is drained before the 413 (item 17)", () => {
  it("reads an 11 MiB chunked JSON body to its end before answering 413 (cap 1 MiB)", async () => {
    const id = rid();
    const { stream, sent } = source(new Uint8Array(CHUNK).fill(0x20), 176);
    const res = await upload(envWith({}), stream, { "x-request-id": id, "content-type": "application/json" }, "/psa/tickets");
    expect(sent()).toBe(176);
    expect(res.status).toBe(413);
    expect(await envelope(res)).toMatchObject({ code: "PAYLOAD_TOO_LARGE", details: { limit: 1024 * 1024 } });
    expect(await recorded("psa", id)).toHaveLength(0);
  });

  it("stops draining at LINGER_MAX_BYTES", async () => {
    const { stream, sent } = source(new Uint8Array(CHUNK), 176);
    const res = await upload(envWith({ LINGER_MAX_BYTES: String(1024 * 1024) }), stream, { "content-type": "application/json" }, "/psa/tickets");
    expect(res.status).toBe(413);
    // 1 MiB read under the cap, then at most 1 MiB (plus the chunk that crosses it) discarded.
    expect(sent()).toBeGreaterThanOrEqual(32);
    expect(sent()).toBeLessThanOrEqual(34);
  });

  it("stops draining a client that goes quiet, within LINGER_TIMEOUT_MS", async () => {
    const { stream, sent } = source(new Uint8Array(CHUNK), 176, { stallAt: 40 });
    const res = await upload(envWith({ LINGER_TIMEOUT_MS: "100" }), stream, { "content-type": "application/json" }, "/psa/tickets");
    expect(res.status).toBe(413);
    expect(sent()).toBe(40);
  });

  it("drains a streamed upload over MAX_BODY_BYTES before answering 413, and the product never sees a clean end", async () => {
    const id = rid();
    const { stream, sent } = source(new Uint8Array(16 * 1024), 64);
    const res = await upload(envWith({ MAX_BODY_BYTES: "100000" }), stream, { "x-request-id": id });
    expect(sent()).toBe(64);
    expect(res.status).toBe(413);
    // The product was already taking the upload when it passed the cap.
    await expectBodyBrokenOff("psa", id, 100000);
  });

  it("drains a body whose declared Content-Length is over the cap before answering 413, forwarding nothing", async () => {
    const id = rid();
    const { stream, sent } = source(new Uint8Array(CHUNK), 32);
    const res = await upload(envWith({ MAX_BODY_BYTES: "1000" }), stream, { "x-request-id": id, "content-length": String(32 * CHUNK) });
    expect(sent()).toBe(32);
    expect(res.status).toBe(413);
    expect(await recorded("psa", id)).toHaveLength(0);
  });

  it("drains a body refused on its Content-Type before answering 400", async () => {
    const { stream, sent } = source(new Uint8Array(CHUNK), 32);
    const res = await upload(envWith({}), stream, { "content-type": "text/plain" }, "/psa/tickets");
    expect(sent()).toBe(32);
    expect(res.status).toBe(400);
    expect(await envelope(res)).toMatchObject({ code: "VALIDATION_ERROR", details: { fields: { "Content-Type": expect.any(String) } } });
  });

  it("drains the rest of an upload the product refused early before passing its 413 on", async () => {
    const id = rid();
    const { stream, sent } = source(new Uint8Array(CHUNK), 128);
    const res = await upload(envWith({}), stream, { "x-demo-fault": "early-error=413", "x-request-id": id });
    expect(sent()).toBe(128);
    expect(res.status).toBe(413);
    expect((await envelope(res)).code).toBe("PAYLOAD_TOO_LARGE");
    // The product's answer went out whole, and the rest of the upload was drained at the edge, not sent on.
    const entries = await recorded("psa", id);
    expect(entries).toHaveLength(1);
    expect(entries[0]).toMatchObject({ responseStatus: 413, responseAborted: false });
    expect(entries[0]?.bodyLength).toBeLessThan(128 * CHUNK);
  });
});
