/**
 * How the gateway is prepared for the bench. Two hooks, both called by run.mjs for the gateway only (the
 * reference Workers never depend on this file):
 *
 *   gatewayVars(bench)  before the gateway starts: extra vars/secrets on top of wrangler.toml's [vars].
 *                       run.mjs already points every UPSTREAM_* var at the local upstream and sets
 *                       RATE_LIMIT_DEFAULT very high, so only the admitted-path limiter cost is measured.
 *   provision(bench)    after it started, before any scenario: seed state, return the scenario context
 *                       (ctx). ctx must be JSON-serialisable: it is handed to the load generator process.
 *
 * `bench` carries:
 *   gatewayUrl   origin of the gateway's direct socket, e.g. http://127.0.0.1:40123
 *   upstreamUrl  origin of the local upstream (every product backend points here)
 *   jwksUrl      the bench JWKS, served by the local upstream (public half of the bench signing key)
 *   signJwt(claims, { expiresIn = "1h", issuer, audience } = {})  -> Promise<string>, ES256, kid "bench-1"
 *   kv.put(binding, key, value, { metadata, expirationTtl })     writes straight into the gateway's local KV
 *   kv.putMany(binding, [{ key, value, metadata?, expirationTtl? }])
 *   tenants      how many tenants the rotation scenario cycles through (scenarios.mjs TENANTS)
 *   vars         the vars the gateway runs with (wrangler.toml + bench overrides), e.g. ADMIN_SECRET
 * (gatewayVars gets upstreamUrl, jwksUrl and vars: the declared ones, before overrides.)
 *
 * ctx fields the gateway scenarios read (a scenario that `needs` a missing field is skipped with a note):
 *   integrationKeyHeaders  headers of one admitted integration key (e.g. { authorization: "Bearer ..." })
 *   sessionJwtHeaders      headers carrying a session JWT that verifies against jwksUrl
 *   overLimitHeaders       headers of a tenant whose limit is already spent (deny path)
 *   tenantHeaders          array of `tenants` header objects, one admitted key per tenant
 */

/** The gateway verifies session JWTs against the bench's JWKS (served by the local upstream, loopback). */
export function gatewayVars({ jwksUrl }) {
  return { JWKS_URL: jwksUrl, JWKS: "" };
}

/**
 * Provisions through the gateway's own admin API, as an operator would: one integration key per rotation
 * tenant (tenant 0's key is the single-tenant scenarios' key), a session JWT for tenant 0, and a tenant whose
 * 1-per-hour limit is already spent (the deny path).
 */
export async function provision({ gatewayUrl, signJwt, tenants, vars }) {
  const admin = { authorization: `Bearer ${vars.ADMIN_SECRET}`, "content-type": "application/json" };
  async function call(method, path, body) {
    const res = await fetch(`${gatewayUrl}/__gateway/admin${path}`, { method, headers: admin, body: body && JSON.stringify(body) });
    if (!res.ok) throw new Error(`provision: ${method} ${path}: ${res.status} ${await res.text()}`);
    return res.json();
  }
  const newKey = async (tenant) => (await call("POST", `/tenants/${tenant}/keys`, { name: "bench", access: { psa: "write" } })).key;
  const keys = [];
  for (let i = 0; i < tenants; i += 50) {
    const batch = Array.from({ length: Math.min(50, tenants - i) }, (_, j) => newKey(`bench-tenant-${i + j}`));
    keys.push(...(await Promise.all(batch)));
  }
  const over = await newKey("bench-over");
  await call("PUT", "/tenants/bench-over/rate-limit", { policies: [{ name: "default", limit: 1, window: "1h" }] });
  const spent = await fetch(`${gatewayUrl}/psa/tickets`, { headers: { "x-integration-key": over } });
  await spent.arrayBuffer();
  const jwt = await signJwt({ aud: vars.JWT_SESSION_AUDIENCE, iss: vars.JWT_ISSUER, token_use: "session", sub: "usr_bench", tid: "bench-tenant-0", perms: ["psa:*"] });
  const auth = (key) => ({ "x-integration-key": key });
  return { integrationKeyHeaders: auth(keys[0]), sessionJwtHeaders: { authorization: `Bearer ${jwt}` }, overLimitHeaders: auth(over), tenantHeaders: keys.map(auth) };
}
