// DEV ONLY — never deployed. Misbehaviour on demand: a request carrying `X-Demo-Fault: <mode>` makes the
// backend fail the way real upstreams do (HTML error pages, stack traces, dropped sockets, huge bodies), so
// humans with curl and the e2e tests can prove the gateway normalizes and leaks none of it.

import { STATUS_CODES } from "node:http";
import { EnvelopeError, drain, sendJson } from "./http-util.mjs";
import { MAX_SLOW_MS } from "./fault-parse.mjs";
import { streamBody } from "./byte-streams.mjs";
import { RAW_FAULTS, leakyHeaders } from "./odd-answers.mjs";

export { parseFault } from "./fault-parse.mjs";

/** Strings that appear only in fault bodies; a test asserts none of them reaches a client. */
export function leakMarkers(backend) {
  return [`${backend}-db-7.internal`, "10.0.7.12", "/srv/", "nginx"];
}

function stackTrace(backend) {
  return [
    `Error: connect ETIMEDOUT ${backend}-db-7.internal:5432 (10.0.7.12)`,
    `    at Pool.query (/srv/${backend}/node_modules/pg-pool/index.js:45:11)`,
    `    at Repository.findAll (/srv/${backend}/src/repository.js:88:11)`,
  ].join("\n");
}

/** What nginx in front of a crashed app serves: its own page, plus the app's debug comment. */
function nginxPage(backend) {
  return [
    "<html>",
    "<head><title>502 Bad Gateway</title></head>",
    "<body>",
    "<center><h1>502 Bad Gateway</h1></center>",
    "<hr><center>nginx/1.25.3</center>",
    `<!-- upstream ${backend}-db-7.internal\n${stackTrace(backend)} -->`,
    "</body>",
    "</html>",
    "",
  ].join("\r\n");
}

/** Waits `ms`, or less if the client goes away; true when it went away (nothing left to answer). */
function waitUnlessClosed(res, ms) {
  return new Promise((resolve) => {
    const onClose = () => {
      clearTimeout(timer);
      resolve(true);
    };
    const timer = setTimeout(() => {
      res.off("close", onClose);
      resolve(false);
    }, ms);
    res.once("close", onClose);
  });
}

// RFC 9110 §8.6: no Content-Length (and no body) on 204, and none needed on 304.
const NO_BODY = new Set([204, 304]);

function answerEmpty(res, code, headers) {
  res.writeHead(code, NO_BODY.has(code) ? headers : { "Content-Length": 0, ...headers });
  res.end();
  return true;
}

function sendText(res, code, text, contentType, headers = {}) {
  const bytes = Buffer.from(text);
  res.writeHead(code, { "Content-Type": contentType, "Content-Length": bytes.length, ...headers });
  res.end(bytes);
}

/**
 * Applies a parsed fault. Returns true when the fault answered (or dropped) the request, false when normal
 * handling should continue (`slow`). Except for `slow`, the request body is read to its end first, so the
 * recorder holds it whole and the gateway has finished sending before it sees the failure.
 */
export async function applyFault(fault, { req, res, body, backend }) {
  if (fault.mode === "slow") return waitUnlessClosed(res, fault.ms);
  if (fault.mode === "early-error") {
    // Refuses before reading the upload, as a product checking only its headers does.
    sendJson(res, fault.status, { error: "Refused early", code: fault.status === 413 ? "PAYLOAD_TOO_LARGE" : "CONFLICT", details: null });
    return true;
  }
  if (fault.mode === "no-read") {
    // Never reads the upload: once the socket buffers fill, the sender sees no progress at all.
    body.pause();
    await waitUnlessClosed(res, fault.ms);
    if (!res.destroyed) answerEmpty(res, 204, {});
    return true;
  }
  await drain(body);
  if (Object.hasOwn(RAW_FAULTS, fault.mode)) {
    RAW_FAULTS[fault.mode](req.socket, fault);
    return true;
  }
  const host = `${backend}-db-7.internal`;
  // The headers a real product sends with these statuses, which the gateway keeps on an error answer.
  const statusHeaders = (code) => (code === 429 || code === 503 ? { "Retry-After": "7" } : code === 405 ? { Allow: "GET, HEAD" } : {});
  switch (fault.mode) {
    case "drop":
      req.socket.destroy();
      return true;
    case "html-502":
      sendText(res, 502, nginxPage(backend), "text/html");
      return true;
    case "json-500":
      sendJson(res, 500, { message: `db timeout on ${host}`, stack: stackTrace(backend) });
      return true;
    case "envelope-500":
      sendJson(res, 500, {
        error: `Unhandled error on ${host}\n${stackTrace(backend)}`,
        code: "INTERNAL_ERROR",
        details: { host, stack: stackTrace(backend) },
      });
      return true;
    case "json-400":
      sendJson(res, 400, { errors: { title: "is required" }, message: "Title is required" });
      return true;
    case "json-422":
      sendJson(res, 422, { error: "Validation failed", code: "VALIDATION_ERROR", details: { fields: { title: "is required" } } });
      return true;
    case "text":
      if (NO_BODY.has(fault.status)) return answerEmpty(res, fault.status, statusHeaders(fault.status));
      sendText(
        res,
        fault.status,
        `${fault.status} ${STATUS_CODES[fault.status] ?? "Error"} (served by ${host})\n`,
        "text/plain; charset=utf-8",
        statusHeaders(fault.status),
      );
      return true;
    case "empty":
      return answerEmpty(res, fault.status, statusHeaders(fault.status));
    case "large":
    case "large-chunked":
      await streamBody(res, 200, "application/octet-stream", {
        kind: "pattern",
        bytes: fault.bytes,
        chunked: fault.mode === "large-chunked",
      });
      return true;
    case "large-error":
      // Chunked: an error body of unknown length is the harder case for the gateway's size cap.
      await streamBody(res, fault.status, "application/json", {
        kind: "json-error",
        bytes: fault.bytes,
        chunked: true,
        host,
      });
      return true;
    case "redirect":
    case "redirect-external":
      res.writeHead(302, {
        Location: fault.mode === "redirect" ? "/tickets" : "http://evil.example/x",
        "Content-Length": 0,
      });
      res.end();
      return true;
    case "hop-headers":
      // Chunked on purpose: a trailer needs it, and Transfer-Encoding is itself hop-by-hop (RFC 9110 §7.6.1).
      res.writeHead(200, {
        "Content-Type": "application/json; charset=utf-8",
        Connection: "close, X-Secret-Hop",
        "X-Secret-Hop": "1",
        "Keep-Alive": "timeout=5, max=100",
        "Proxy-Authenticate": `Basic realm="${host}"`,
        "Proxy-Connection": "keep-alive",
        Trailer: "X-Checksum",
      });
      res.write(JSON.stringify({ ok: true, fault: "hop-headers" }));
      res.addTrailers({ "X-Checksum": "0" });
      res.end();
      return true;
    case "stall-error":
    case "stall-body":
      // Headers and a few bytes of a body, then silence until the gateway gives up and closes.
      res.writeHead(fault.status, { "Content-Type": "application/json" });
      res.write(`{"error":"partial answer from ${host}`);
      await waitUnlessClosed(res, MAX_SLOW_MS);
      res.destroy();
      return true;
    case "cut-body":
      // A 200 that promises twice what it sends, then drops the connection mid-body.
      res.writeHead(200, { "Content-Type": "application/octet-stream", "Content-Length": fault.bytes * 2 });
      res.write(Buffer.alloc(fault.bytes, "x"), () => req.socket.destroy());
      return true;
    case "trickle":
      // A slow download that keeps moving: five chunks, `ms` apart.
      res.writeHead(200, { "Content-Type": "text/plain" });
      for (let i = 0; i < 5 && !(await waitUnlessClosed(res, fault.ms)); i += 1) res.write(`chunk ${i}\n`);
      res.end();
      return true;
    case "retry-date":
      // RFC 9110 §10.2.3: Retry-After may be an HTTP-date. Two minutes from the backend's clock.
      sendText(res, fault.status, "busy\n", "text/plain", {
        "Retry-After": new Date(Date.now() + 120_000).toUTCString(),
      });
      return true;
    case "envelope":
      sendJson(
        res,
        fault.status,
        { error: "Product says so", code: fault.code, details: null },
        fault.status === 429 ? { "Retry-After": "7" } : {},
      );
      return true;
    case "leaky-headers":
      res.statusMessage = `Fine (${host})`;
      for (const [name, value] of leakyHeaders(host)) res.appendHeader(name, value);
      if (fault.status >= 400) sendJson(res, fault.status, { error: "Not found", code: "NOT_FOUND", details: null });
      else sendJson(res, fault.status, { ok: true, fault: "leaky-headers" });
      return true;
    case "location":
    case "location-self": {
      const self = `http://${req.headers.host}`;
      const location = fault.mode === "location" ? fault.location : self + fault.location;
      res.writeHead(302, {
        Location: location,
        "Content-Location": location,
        // Pagination and refresh targets are URL references too.
        Link: `<${location}>; rel="next", <https://docs.example/help>; rel="help"`,
        Refresh: `5; url=${location}`,
        "Content-Length": 0,
      });
      res.end();
      return true;
    }
    default:
      throw new EnvelopeError(500, "INTERNAL_ERROR", `Fault ${fault.mode} has no handler`);
  }
}
