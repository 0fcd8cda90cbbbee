// TEST ONLY — never deployed. A JWKS host on loopback that plays the identity provider for the remote-JWKS
// tests, and doubles as an "attacker" URL whose hit counter proves the gateway never fetched it.
//
// Every key set lives under its own path, `/jwks/<id>`, so tests never share the gateway's per-URL JWKS
// cache. Control endpoints (never served under /jwks/):
//   PUT /__control/<id>   body {"jwks"?: {...}, "mode"?: "ok" | "fail" | "hang" | "reset" | "garbage"}
//                         fail: 500; hang: never answers; reset: destroys the socket; garbage: 200, not JSON
//   GET /__hits/<id>      {"hits": n}: how many times /jwks/<id> was requested

import http from "node:http";

const MODES = new Set(["ok", "fail", "hang", "reset", "garbage"]);

function sendJson(res, status, body) {
  const text = JSON.stringify(body);
  res.writeHead(status, { "content-type": "application/json", "content-length": Buffer.byteLength(text) }).end(text);
}

async function readJson(req) {
  const chunks = [];
  for await (const chunk of req) chunks.push(chunk);
  return JSON.parse(Buffer.concat(chunks).toString("utf8") || "{}");
}

/** Starts the server on loopback; `port` 0 picks a free one. Returns the bound port and `close()`. */
export async function startJwksServer({ port = 0, host = "127.0.0.1" } = {}) {
  const sets = new Map(); // id -> { jwks, mode }
  const hits = new Map(); // id -> count
  const sockets = new Set();

  const server = http.createServer((req, res) => {
    const url = new URL(req.url, "http://jwks.invalid");
    const [, area, id] = url.pathname.split("/");
    if (area === "jwks" && id) {
      req.resume();
      hits.set(id, (hits.get(id) ?? 0) + 1);
      const set = sets.get(id);
      if (set === undefined) return sendJson(res, 404, { error: "unknown key set" });
      if (set.mode === "hang") return; // the socket stays open until the client gives up or we close
      if (set.mode === "reset") return req.socket.destroy();
      if (set.mode === "fail") return sendJson(res, 500, { error: "identity provider down" });
      if (set.mode === "garbage") return res.writeHead(200, { "content-type": "application/json" }).end("<html>not a key set");
      return sendJson(res, 200, set.jwks);
    }
    if (area === "__control" && id && req.method === "PUT") {
      readJson(req).then(
        (body) => {
          const current = sets.get(id) ?? { jwks: { keys: [] }, mode: "ok" };
          if (body.mode !== undefined && !MODES.has(body.mode)) return sendJson(res, 400, { error: "unknown mode" });
          sets.set(id, { jwks: body.jwks ?? current.jwks, mode: body.mode ?? current.mode });
          sendJson(res, 200, { ok: true });
        },
        () => sendJson(res, 400, { error: "body is not JSON" }),
      );
      return;
    }
    if (area === "__hits" && id && req.method === "GET") {
      req.resume();
      return sendJson(res, 200, { hits: hits.get(id) ?? 0 });
    }
    req.resume();
    sendJson(res, 404, { error: "not found" });
  });
  server.on("connection", (socket) => {
    sockets.add(socket);
    socket.on("close", () => sockets.delete(socket));
  });

  const bound = await new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, host, () => resolve(server.address().port));
  });
  return {
    port: bound,
    close: () =>
      new Promise((resolve) => {
        server.close(() => resolve());
        // Hanging requests would otherwise hold close() open.
        for (const socket of sockets) socket.destroy();
      }),
  };
}
