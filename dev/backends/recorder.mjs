// DEV ONLY — never deployed. Records every request a demo backend receives, exactly as received, so tests
// can assert what the gateway forwarded (headers added or stripped, raw path and query, exact body bytes).

import { createHash } from "node:crypto";
import { Transform, pipeline } from "node:stream";

/** Bodies up to this size are kept verbatim (base64); larger ones only by length and SHA-256. */
export const MAX_STORED_BODY_BYTES = 256 * 1024;

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
 * Creates a bounded ring (the last `capacity` requests) for one backend. `record(req)` stores the entry
 * before the request is handled and returns `body`, a stream the handler reads instead of `req`: the body
 * is teed through a hash as it streams, never buffered twice, and kept verbatim only while small.
 */
export function createRecorder({ backend, capacity = 2000 }) {
  const ring = []; // oldest first
  const pending = new Map(); // entry -> promise settled when its body has been fully read or aborted
  let seq = 0;

  function record(req) {
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
    };
    ring.push(entry);
    if (ring.length > capacity) pending.delete(ring.shift());

    const hash = createHash("sha256");
    let length = 0;
    let kept = [];
    let settle;
    pending.set(entry, new Promise((resolve) => (settle = resolve)));
    const finish = (complete) => {
      if (entry.bodyLength !== null) return;
      Object.assign(entry, {
        bodyLength: length,
        bodySha256: hash.digest("hex"),
        bodyBase64: kept ? Buffer.concat(kept).toString("base64") : null,
        bodyComplete: complete,
      });
      pending.delete(entry);
      settle();
    };
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
   * for bodies still streaming, so a test that asks right after its response sees the whole body.
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
