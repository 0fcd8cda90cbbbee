#!/usr/bin/env node
// DEV ONLY. `npm run token -- [options]`: mints a user session or customer portal JWT signed by the local
// development key (dev/keys/), which only `npm run dev` trusts: deployed environments take their keys from
// JWKS_URL, and a static JWKS is refused outside ENVIRONMENT=development.
//
//   npm run token -- --tenant demo --sub usr_1 --perms 'psa:tickets.*,rmm:devices.read'
//   npm run token -- --portal --tenant demo --customer cus_42
//   npm run token -- --tenant demo --perms 'psa:*' --expired
//
// Options: --tenant (default demo), --sub (default usr_demo / contact_demo), --perms (comma list, session
// only), --portal, --customer (portal only, default cus_demo), --ttl seconds (default 3600), --expired
// (exp two minutes ago: beyond the 30 s tolerance), --json (print the claims too).

import { readFileSync } from "node:fs";
import { parseArgs } from "node:util";
import { importJWK, SignJWT } from "jose";

const root = new URL("..", import.meta.url);
const toml = readFileSync(new URL("wrangler.toml", root), "utf8");
/** A top-level string var from wrangler.toml (the development configuration). */
function devVar(name) {
  const topLevel = toml.split(/^\[env\./m)[0];
  const match = new RegExp(`^${name}\\s*=\\s*"([^"]*)"`, "m").exec(topLevel);
  if (!match) throw new Error(`wrangler.toml has no ${name} var`);
  return match[1];
}

const USAGE = `usage: npm run token -- [--tenant T] [--sub S] [--perms 'psa:tickets.*,rmm:devices.read'] [--ttl SECONDS] [--expired] [--json]
       npm run token -- --portal [--tenant T] [--sub S] [--customer C] [--ttl SECONDS] [--expired] [--json]
DEV ONLY: a token signed by the development key (dev/keys/), which only \`npm run dev\` trusts.`;

let values;
try {
  ({ values } = parseArgs({
    options: {
      tenant: { type: "string", default: "demo" },
      sub: { type: "string" },
      perms: { type: "string", default: "" },
      portal: { type: "boolean", default: false },
      customer: { type: "string", default: "cus_demo" },
      ttl: { type: "string", default: "3600" },
      expired: { type: "boolean", default: false },
      json: { type: "boolean", default: false },
      help: { type: "boolean", default: false },
    },
  }));
} catch (err) {
  // node:util's message names the option ("Unknown option '--x'"); the stack is no help to anyone.
  console.error(`token: ${err.message}\nrun \`npm run token -- --help\` for usage`);
  process.exit(2);
}
if (values.help) {
  console.log(USAGE);
  process.exit(0);
}

const ttl = Number(values.ttl);
if (!Number.isInteger(ttl) || ttl < 1 || ttl > 86_400) {
  console.error("token: --ttl must be 1..86400 seconds (the gateway's default maximum token age is one day)");
  process.exit(2);
}

const jwk = JSON.parse(readFileSync(new URL("dev/keys/dev-signing-key.private.jwk.json", root), "utf8"));
const now = Math.floor(Date.now() / 1000);
const iat = values.expired ? now - ttl - 120 : now;
const claims = values.portal
  ? { aud: devVar("JWT_PORTAL_AUDIENCE"), token_use: "portal", sub: values.sub ?? "contact_demo", tid: values.tenant, cid: values.customer }
  : { aud: devVar("JWT_SESSION_AUDIENCE"), token_use: "session", sub: values.sub ?? "usr_demo", tid: values.tenant, perms: values.perms.split(",").map((p) => p.trim()).filter(Boolean) };

const token = await new SignJWT({ ...claims, iss: devVar("JWT_ISSUER") })
  .setProtectedHeader({ alg: jwk.alg, kid: jwk.kid, typ: "JWT" })
  .setIssuedAt(iat)
  .setExpirationTime(iat + ttl)
  .sign(await importJWK(jwk, jwk.alg));

if (values.json) console.error(JSON.stringify({ ...claims, iat, exp: iat + ttl }, null, 2));
console.log(token);
