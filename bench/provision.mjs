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

/** @returns {Record<string, string>} vars added to (or replacing) wrangler.toml's for the bench run. */
export function gatewayVars() {
  return {}; // e.g. { JWKS_URL: bench.jwksUrl }
}

/**
 * @returns {Promise<object>} the scenario context. Today it supplies nothing, so only the credential-free
 * gateway scenarios run. A filled-in version looks like:
 *
 *   const keys = Array.from({ length: bench.tenants }, (_, i) => ({ tenant: `t${i}`, secret: `osk_bench_${i}` }));
 *   await bench.kv.putMany("KEYS", keys.map((k) => ({ key: <kv key for k>, value: <record for k> })));
 *   const auth = (k) => ({ authorization: `Bearer ${k.secret}` });
 *   return {
 *     integrationKeyHeaders: auth(keys[0]),
 *     sessionJwtHeaders: { authorization: `Bearer ${await bench.signJwt({ sub: "u1", tid: "t0" })}` },
 *     overLimitHeaders: auth(<a key whose tenant limit is 1/1h, spent by one request here>),
 *     tenantHeaders: keys.map(auth),
 *   };
 */
export async function provision() {
  return {};
}
