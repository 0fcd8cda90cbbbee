// DEV ONLY — never deployed. The HTTP server shared by the demo backends: records every request, serves the
// dev/test control routes, applies `X-Demo-Fault`, routes, and turns thrown errors into the envelope.

import http from "node:http";
import { parseFault, applyFault } from "./faults.mjs";
import { EnvelopeError, identityOf, sendError, sendJson } from "./http-util.mjs";
import { createRecorder } from "./recorder.mjs";
import { createRouter } from "./router.mjs";

/**
 * Control routes, never recorded and not subject to faults. They exist only on these fakes: the gateway's
 * route table never forwards to them, and nothing like them is deployed.
 */
async function handleControl(recorder, req, res, url, backend) {
  req.resume(); // any body is ignored
  const route = `${req.method} ${url.pathname}`;
  if (route === "GET /__health") return sendJson(res, 200, { ok: true, backend });
  if (route === "GET /__recorded") {
    // `wait=<ms>`: how long to wait for entries still in flight (default 2000; 0 answers at once).
    const wait = url.searchParams.has("wait") ? Math.min(10_000, Number(url.searchParams.get("wait")) || 0) : undefined;
    return sendJson(res, 200, { requests: await recorder.query(url.searchParams.get("requestId"), wait) });
  }
  if (route === "DELETE /__recorded") {
    recorder.clear();
    res.writeHead(204).end();
    return;
  }
  sendError(res, 405, "METHOD_NOT_ALLOWED", "Method not allowed");
}

/** A handler's `{ status, body?, headers? }` as a response; no `body` means an empty one. */
function writeResult(res, { status, body, headers = {} }) {
  if (body === undefined) {
    res.writeHead(status, { "Content-Length": 0, ...headers }).end();
  } else {
    sendJson(res, status, body, headers);
  }
}

function logLine(backend, req, res, started) {
  const rid = req.headers["x-request-id"] ?? "-";
  const ms = Date.now() - started;
  const outcome = res.writableFinished ? res.statusCode : "dropped";
  process.stdout.write(`${backend} ${req.method} ${req.url} -> ${outcome} ${ms}ms rid=${rid}\n`);
}

/**
 * Creates (does not start) the HTTP server for one backend. `routes` is `[{ method, path, handler }]`;
 * a handler gets `{ req, body, params, url, identity }`, reads the body only from `body` (the recorder's
 * tee), and returns `{ status, body?, headers? }` or throws an EnvelopeError.
 */
export function createBackendServer({ backend, routes, log = false }) {
  const recorder = createRecorder({ backend });
  const router = createRouter(routes);

  async function handle(req, res) {
    const url = new URL(req.url, "http://backend.invalid");
    if (url.pathname === "/__recorded" || url.pathname === "/__health") {
      return handleControl(recorder, req, res, url, backend);
    }
    const started = Date.now();
    const { body } = recorder.record(req, res);
    res.on("close", () => {
      body.resume(); // drain whatever the handler did not read, so the recording completes
      if (log) logLine(backend, req, res, started);
    });
    const fault = parseFault(req.headers["x-demo-fault"]);
    if (fault && (await applyFault(fault, { req, res, body, backend }))) return;
    const found = router.match(req.method, url.pathname);
    if (found === null) throw new EnvelopeError(404, "NOT_FOUND", "Not found");
    if (found.allow) {
      throw new EnvelopeError(405, "METHOD_NOT_ALLOWED", "Method not allowed", null, {
        Allow: found.allow.join(", "),
      });
    }
    writeResult(res, await found.handler({ req, body, params: found.params, url, identity: identityOf(req) }));
  }

  return http.createServer((req, res) => {
    handle(req, res).catch((err) => {
      if (res.headersSent || res.destroyed) {
        res.destroy();
      } else if (err instanceof EnvelopeError) {
        sendError(res, err.status, err.code, err.message, err.details, err.headers);
      } else {
        process.stderr.write(`${backend}: unhandled error: ${err?.stack ?? err}\n`);
        sendError(res, 500, "INTERNAL_ERROR", "An unexpected error occurred");
      }
    });
  });
}
