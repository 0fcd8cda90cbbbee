// DEV ONLY — never deployed. Records every request a demo backend receives, exactly as received, so tests
// can assert what the gateway forwarded (headers added or stripped, raw path and query, exact body bytes)
// and how the exchange ended on the product's side (its body read to a clean end or broken off; how many
// response body bytes it handed to the connection before the gateway hung up).

import { createHash } from "node:crypto";
import { Transform, pipeline } from "node:stream";

/** Bodies up to this size are kept verbatim (base64); larger ones only by length and SHA-256. */
export const MAX_STORED_BODY_BYTES = 256 * 1024;

/** Calls `add(n)` with the length of every body chunk the handler writes to `res` (write and end). */
function countResponseBytes(res, add) {
  const size = (chunk, encoding) => (chunk == null || typeof chunk === "function" ? 0 : Buffer.byteLength(chunk, typeof encoding === "string" ? encoding : undefined));
  const write = res.write;
  const end = res.end;
  res.write = function (chunk, encoding, ...rest) {
    if (!res.destroyed) add(size(chunk, encoding));
    return write.call(this, chunk, encoding, ...rest);
  };
  res.end = function (chunk, encoding, ...rest) {
    if (!res.destroyed) add(size(chunk, encoding));
    return end.call(this, chunk, encoding, ...rest);
  };
}

/** `[k1, v1, k2, v2]` -> `[[k1, v1], [k2, v2]]`, case and order kept. */
function headerPairs(rawHeaders) {
  const pairs = [];
  for (let i = 0; i < rawHeaders.length; i += 2) pairs.push([rawHeaders[i], rawHeaders[i + 1]]);
  return pairs;
}

/** Lowercase name -> value; repeated headers joined with ", " (rawHeaders keeps them apart). */
function lowercaseMap(pairs) {
  const map = {};
  for (const [name, value] of pairs) {
    const key = name.toLowerCase();
    map[key] = key in map ? `${map[key]}, ${value}` : value;
  }
  return map;
}

/**
 * Creates a bounded ring (the last `capacity` requests) for one backend. `record(req, res)` stores the entry
 * before the request is handled and returns `body`, a stream the handler reads instead of `req`: the body
 * is teed through a hash as it streams, never buffered twice, and kept verbatim only while small. Once the
 * response ends (or its connection closes first), the entry also says `responseStatus`, `responseBytes`
 * (body bytes written to the connection; with backpressure, about what the peer read plus socket buffers)
 * and `responseAborted` (the connection closed before the answer was finished: the gateway went away).
 */
export function createRecorder({ backend, capacity = 2000 }) {
  const ring = []; // oldest first
  const pending = new Map(); // entry -> promise settled once its body was read or broken off and its response ended
  let seq = 0;

  function record(req, res) {
    const rawHeaders = headerPairs(req.rawHeaders);
    const entry = {
      seq: ++seq,
      backend,
      receivedAt: new Date().toISOString(),
      requestId: req.headers["x-request-id"] ?? null,
      method: req.method,
      url: req.url,
      httpVersion: req.httpVersion,
      rawHeaders,
      headers: lowercaseMap(rawHeaders),
      bodyLength: null,
      bodySha256: null,
      bodyBase64: null,
      bodyComplete: false,
      responseStatus: null,
      responseBytes: 0,
      responseAborted: null,
    };
    ring.push(entry);
    if (ring.length > capacity) pending.delete(ring.shift());

    const hash = createHash("sha256");
    let length = 0;
    let kept = [];
    let settle;
    const bodyDone = new Promise((resolve) => (settle = resolve));
    const finish = (complete) => {
      if (entry.bodyLength !== null) return;
      Object.assign(entry, {
        bodyLength: length,
        bodySha256: hash.digest("hex"),
        bodyBase64: kept ? Buffer.concat(kept).toString("base64") : null,
        bodyComplete: complete,
      });
      settle();
    };
    const responseDone = new Promise((resolve) => {
      countResponseBytes(res, (n) => (entry.responseBytes += n));
      res.once("close", () => {
        Object.assign(entry, { responseStatus: res.headersSent ? res.statusCode : null, responseAborted: !res.writableFinished });
        resolve();
      });
    });
    const done = Promise.all([bodyDone, responseDone]).then(() => pending.delete(entry));
    pending.set(entry, done);
    const body = new Transform({
      transform(chunk, _encoding, callback) {
        hash.update(chunk);
        length += chunk.length;
        if (kept && length <= MAX_STORED_BODY_BYTES) kept.push(chunk);
        else kept = null;
        callback(null, chunk);
      },
      flush(callback) {
        finish(true);
        callback();
      },
    });
    // An aborted upload still leaves an entry: what arrived, with bodyComplete false.
    pipeline(req, body, (err) => err && finish(false));
    return { entry, body };
  }

  /**
   * Entries for one request id (all entries when `requestId` is null), oldest first. Waits up to `waitMs`
   * for bodies still streaming and answers still being written, so a test that asks right after its
   * response sees the whole body and how the product's answer ended.
   */
  async function query(requestId, waitMs = 2000) {
    const matches = requestId === null ? [...ring] : ring.filter((e) => e.requestId === requestId);
    const waits = matches.map((e) => pending.get(e)).filter(Boolean);
    if (waits.length > 0) {
      let timer;
      const timeout = new Promise((resolve) => (timer = setTimeout(resolve, waitMs)));
      await Promise.race([Promise.all(waits), timeout]);
      clearTimeout(timer);
    }
    return matches;
  }

  function clear() {
    ring.length = 0;
    pending.clear();
  }

  return { record, query, clear };
}
