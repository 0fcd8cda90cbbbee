// The admin API client for scripts/admin.mjs: every request has a deadline, the secret goes only into the
// Authorization header (never into a message, a log or a URL), and failures are typed for the exit codes.

/** The API answered with an error envelope: exit code 1, with its message, code and details. */
export class ApiError extends Error {
  constructor(status, envelope) {
    super(envelope?.error ?? `HTTP ${status}`);
    this.name = "ApiError";
    this.status = status;
    this.code = envelope?.code ?? "HTTP_ERROR";
    this.details = envelope?.details ?? null;
  }
}

/** The API could not be reached or did not answer in time: exit code 3. */
export class NetworkError extends Error {
  constructor(message) {
    super(message);
    this.name = "NetworkError";
  }
}

/**
 * A client for one environment: `request(method, path, body?)` resolves to the parsed JSON answer or
 * throws ApiError / NetworkError. `path` is relative to `/__gateway/admin`; path segments are the
 * caller's to encode (see `seg`).
 */
export function adminClient({ url, secret, timeoutMs = 10_000 }) {
  const base = new URL("/__gateway/admin", url).href;
  async function request(method, path, body) {
    let res;
    try {
      res = await fetch(base + path, {
        method,
        headers: { authorization: `Bearer ${secret}`, ...(body !== undefined ? { "content-type": "application/json" } : {}) },
        body: body === undefined ? undefined : JSON.stringify(body),
        signal: AbortSignal.timeout(timeoutMs),
        redirect: "error",
      });
    } catch (err) {
      const why = err?.name === "TimeoutError" ? `no answer within ${timeoutMs} ms` : (err?.cause?.code ?? err?.message ?? String(err));
      throw new NetworkError(`${method} ${new URL(base).origin}: ${why}`);
    }
    let text;
    try {
      text = await res.text();
    } catch (err) {
      throw new NetworkError(`${method} ${new URL(base).origin}: body not read (${err?.name ?? "error"})`);
    }
    let json = null;
    try {
      json = text === "" ? null : JSON.parse(text);
    } catch {
      // not JSON: reported below as an HTTP error without an envelope
    }
    if (!res.ok) throw new ApiError(res.status, json !== null && typeof json === "object" ? json : null);
    return json;
  }
  return { request };
}

/** One path segment, percent-encoded, so an operator's typo cannot change which route is called. */
export function seg(value) {
  return encodeURIComponent(String(value));
}
