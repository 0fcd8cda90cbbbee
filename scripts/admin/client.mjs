// The admin API client for scripts/admin.mjs: every request has a deadline, the secret goes only into the
// Authorization header and a Cloudflare Access service token only into its two headers (never into a
// message, a log or a URL), and failures are typed for the exit codes.

/** The API answered with an error envelope: exit code 1, with its message, code and details. */
export class ApiError extends Error {
  constructor(status, envelope, { retryAfter = null, hint = null } = {}) {
    super(envelope?.error ?? `HTTP ${status}`);
    this.name = "ApiError";
    this.status = status;
    this.code = envelope?.code ?? "HTTP_ERROR";
    this.details = envelope?.details ?? null;
    this.retryAfter = retryAfter;
    /** What the operator can do about it, when the CLI knows more than the envelope says. */
    this.hint = hint;
  }
}

/** The API could not be reached or did not answer in time: exit code 3. */
export class NetworkError extends Error {
  constructor(message) {
    super(message);
    this.name = "NetworkError";
  }
}

const ACCESS_HINT = "Cloudflare Access did not let the request through: set CF_ACCESS_CLIENT_ID and CF_ACCESS_CLIENT_SECRET to a service token that the Access application's policy allows (docs/admin-api.md, \"Cloudflare Access\")";

/** The headers that prove who is calling: the admin secret, and a Cloudflare Access service token when one is set. */
function credentials({ secret, access }) {
  return {
    ...(secret !== undefined ? { authorization: `Bearer ${secret}` } : {}),
    ...(access !== undefined ? { "cf-access-client-id": access.clientId, "cf-access-client-secret": access.clientSecret } : {}),
  };
}

/** Fetch with the deadline; transport failures as NetworkError. Redirects are not followed (Access signs in by redirecting). */
async function send(url, init, timeoutMs) {
  try {
    return await fetch(url, { ...init, signal: AbortSignal.timeout(timeoutMs), redirect: "manual" });
  } catch (err) {
    const why = err?.name === "TimeoutError" ? `no answer within ${timeoutMs} ms` : (err?.cause?.code ?? err?.message ?? String(err));
    throw new NetworkError(`${init.method ?? "GET"} ${new URL(url).origin}: ${why}`);
  }
}

/**
 * A client for one environment: `request(method, path, body?)` resolves to the parsed JSON answer or
 * throws ApiError / NetworkError. `path` is relative to `/__gateway/admin`; path segments are the
 * caller's to encode (see `seg`). `health()` reads the unauthenticated health endpoint.
 */
export function adminClient({ url, secret, access, timeoutMs = 10_000 }) {
  const base = new URL("/__gateway/admin", url).href;
  const origin = new URL(base).origin;

  async function answer(method, res) {
    let text;
    try {
      text = await res.text();
    } catch (err) {
      throw new NetworkError(`${method} ${origin}: body not read (${err?.name ?? "error"})`);
    }
    let json = null;
    try {
      json = text === "" ? null : JSON.parse(text);
    } catch {
      // not JSON: reported below as an HTTP error without an envelope
    }
    return json;
  }

  async function request(method, path, body) {
    const res = await send(base + path, { method, headers: { ...credentials({ secret, access }), ...(body !== undefined ? { "content-type": "application/json" } : {}) }, body: body === undefined ? undefined : JSON.stringify(body) }, timeoutMs);
    if (res.status >= 300 && res.status < 400) {
      const location = res.headers.get("location") ?? "";
      if (/\.cloudflareaccess\.com\//.test(location) || /\/cdn-cgi\/access\//.test(location)) throw new ApiError(res.status, null, { hint: ACCESS_HINT });
      throw new NetworkError(`${method} ${origin}: redirected to ${new URL(location, origin).origin}: --url should be the gateway's own origin`);
    }
    const json = await answer(method, res);
    if (!res.ok) {
      const envelope = json !== null && typeof json === "object" && typeof json.code === "string" ? json : null;
      // Access refuses a service token it does not know with its own page, not the gateway's envelope.
      const hint = envelope === null && (res.status === 401 || res.status === 403) ? ACCESS_HINT : null;
      throw new ApiError(res.status, envelope, { retryAfter: res.headers.get("retry-after"), hint });
    }
    return json;
  }

  /** The health endpoint's answer (`status` ok, or the 503 envelope naming an invalid configuration's field). */
  async function health() {
    const res = await send(new URL("/__gateway/health", url).href, { method: "GET", headers: credentials({ access }) }, timeoutMs);
    return { status: res.status, body: await answer("GET", res) };
  }

  return { request, health };
}

/** One path segment, percent-encoded, so an operator's typo cannot change which route is called. */
export function seg(value) {
  return encodeURIComponent(String(value));
}
