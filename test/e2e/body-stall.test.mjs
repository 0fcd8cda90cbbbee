// End to end: a product's chunked 2xx body that stalls after its status was sent, as a client and an operator
// see it over real sockets (issue 21's leftover): the client gets the bytes before the stall and then a body
// that does not end cleanly; the dev stack's log holds the gateway's own warning, and the runtime's line for
// the cut stream (docs/operations.md, "Logs": why no way of cutting the body without it was found).
import http from "node:http";
import { readFileSync } from "node:fs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startDevServer } from "./dev-server.mjs";

const demo = JSON.parse(readFileSync(new URL("../../dev/seed/demo-keys.json", import.meta.url), "utf8"));
const KEY = demo.find((k) => k.name === "Demo PSA Read/Write").key;
// Short, so the stall is cut soon; the demo backend answers far inside it. The backend's stall lasts 120 s
// (dev/backends/fault-parse.mjs MAX_SLOW_MS), past the test's timeout: a gateway that never cut it fails here.
const PSA_TIMEOUT_MS = 1000;

let stack;
beforeAll(async () => {
  stack = await startDevServer({ vars: { UPSTREAM_TIMEOUT_MS_PSA: String(PSA_TIMEOUT_MS) } });
});
afterAll(async () => {
  await stack?.stop();
});

/**
 * A GET read to its end over a raw socket; resolves once the response is over with its status, the bytes
 * it carried, and how it ended: `complete` is Node's word that the chunked body ended with its terminating
 * chunk; `error` is the read's error when it did not (the connection was cut mid-body).
 */
function download(path, headers) {
  return new Promise((resolve, reject) => {
    const req = http.request(new URL(path, stack.baseUrl), { headers: { "x-integration-key": KEY, ...headers } }, (res) => {
      const parts = [];
      let error = null;
      res.on("data", (c) => parts.push(c));
      res.on("error", (err) => (error = err.code ?? err.message));
      res.on("close", () => resolve({ status: res.statusCode, headers: res.headers, body: Buffer.concat(parts).toString("utf8"), complete: res.complete, error }));
    });
    req.on("error", reject);
    req.end();
  });
}

/** The dev stack's log lines from `from` on (`stack.output()` keeps its recent lines). */
function logSince(from) {
  return stack.output().split("\n").slice(from).join("\n");
}

describe("a product's chunked body that stalls after its status", () => {
  it("reaches the client as its first bytes then a cut body, with the gateway's warning and the runtime's uncaught-exception line in the log", async () => {
    const requestId = `e2e-stall-${Date.now()}`;
    const before = stack.output().split("\n").length - 1;
    const res = await download("/psa/tickets", { "x-demo-fault": "stall-body=200", "x-request-id": requestId });
    expect(res.status).toBe(200);
    expect(res.headers["transfer-encoding"]).toBe("chunked");
    // What the product sent before it went silent (dev/backends/faults.mjs, stall-body).
    expect(res.body).toMatch(/^\{"error":"partial answer from /);
    // Truncated, and a client can tell: no terminating chunk, the read ends in an error.
    expect(res.complete).toBe(false);
    expect(res.error).not.toBeNull();
    // Both lines reach the stack's output after the client saw the cut; the test's timeout bounds the wait.
    const warning = `"msg":"upstream body stalled","requestId":"${requestId}","idleMs":${PSA_TIMEOUT_MS}`;
    await until(() => logSince(before).includes(warning));
    // docs/operations.md says why this line is expected: erroring the stream is the only unclean end the
    // Worker has for a body it watches chunk by chunk, and workerd reports an errored response stream as the
    // request's uncaught exception. Should a runtime stop doing so, this fails and the docs must change.
    await until(() => logSince(before).includes(`Uncaught Error: upstream body idle for ${PSA_TIMEOUT_MS} ms`));
  });
});

/** Resolves once `check()` is true, looking again every 50 ms (the test's timeout bounds it). */
async function until(check) {
  while (!check()) await new Promise((resolve) => setTimeout(resolve, 50));
}
