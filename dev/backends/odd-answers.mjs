// DEV ONLY — never deployed. Answers for the fault modes that test what the gateway hands a client: response
// headers it must drop, and status lines written straight to the socket.

/** Response headers a product must never hand a client through the gateway (docs/proxying.md). */
export function leakyHeaders(host) {
  return [
    ["Access-Control-Allow-Origin", "*"],
    ["Access-Control-Allow-Credentials", "true"],
    ["Access-Control-Expose-Headers", "X-Debug-Host"],
    ["Set-Cookie", "os_session=forged; Path=/; HttpOnly"],
    ["Set-Cookie", "theme=dark; Path=/"],
    ["X-OneStack-Tenant-Id", "victim"],
    ["X-OneStack_Principal-Id", "usr_victim"],
    ["Server", `Apache/2.4.58 (${host})`],
    ["X-Powered-By", "Express"],
    ["Via", `1.1 ${host}`],
    ["X-Backend-Server", "10.0.7.12"],
    ["X-Debug-Host", "10.0.7.12"],
    ["Alt-Svc", `h2="${host}:443"`],
    ["ETag", '"v1"'],
    ["X-Product-Hint", "kept"],
  ];
}

/**
 * Answers written straight to the socket: status lines Node's own writer would refuse or normalize, so the
 * gateway meets what a non-Node product (or a broken proxy in front of one) can really send.
 */
export const RAW_FAULTS = {
  "raw-status": (socket, { status: code }) =>
    rawAnswer(socket, `HTTP/1.1 ${code} Odd\r\nContent-Type: text/plain\r\nContent-Length: 5\r\n`, "hello"),
  "reason-tab": (socket, { status: code }) =>
    rawAnswer(
      socket,
      `HTTP/1.1 ${code} Tab\there\r\nContent-Type: application/json\r\nContent-Length: 11\r\n`,
      '{"ok":true}',
    ),
  // RFC 9110 §15.3.5 / §15.4.5: 204 and 304 have no content, whatever Content-Length says.
  "body-on": (socket, { status: code }) =>
    rawAnswer(socket, `HTTP/1.1 ${code} No Body\r\nContent-Length: 5\r\nETag: "v1"\r\n`, "hello"),
};

function rawAnswer(socket, head, body) {
  socket.end(`${head}Connection: close\r\n\r\n${body}`);
}

