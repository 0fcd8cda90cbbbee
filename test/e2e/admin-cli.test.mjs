// End to end: `npm run admin` (scripts/admin.mjs) against the real `npm run dev` stack: keys, limits,
// plan/apply with a diff and an idempotent second apply, the exit codes scripts rely on, and a secret
// that never appears in the output.
import { execFile } from "node:child_process";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { createServer, request as httpRequest } from "node:http";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startDevServer } from "./dev-server.mjs";

const ROOT = fileURLToPath(new URL("../..", import.meta.url));
const NODE = path.join(ROOT, "node_modules", ".bin", "node");
const SECRET = "dev-admin-secret-change-me";
const dir = mkdtempSync(path.join(tmpdir(), "admin-cli-"));

let stack;
beforeAll(async () => {
  stack = await startDevServer();
});
afterAll(async () => {
  await stack?.stop();
});

/** Runs the CLI; resolves to its exit code and output (never rejects). */
function cli(args, env = {}) {
  return new Promise((resolve) => {
    execFile(NODE, [path.join(ROOT, "scripts", "admin.mjs"), ...args], { env: { PATH: process.env.PATH, ONESTACK_ADMIN_URL: stack.baseUrl, ONESTACK_ADMIN_SECRET: SECRET, ...env }, timeout: 30_000 }, (err, stdout, stderr) => {
      resolve({ code: err ? (err.code ?? 4) : 0, stdout, stderr });
    });
  });
}

const tenant = (label) => `${label}-${Math.random().toString(36).slice(2, 10)}`;

describe("npm run admin against npm run dev", () => {
  it("creates, lists and revokes a key, as a table and as JSON", async () => {
    const t = tenant("cli");
    const created = await cli(["keys", "create", t, "--name", "CLI key", "--access", "psa=write,rmm=read", "--json"]);
    expect(created.code).toBe(0);
    const key = JSON.parse(created.stdout);
    expect(key).toMatchObject({ tenantId: t, name: "CLI key", access: { psa: "write", rmm: "read" }, key: expect.stringMatching(/^osk_/) });
    const listed = await cli(["keys", "list", t]);
    expect(listed.code).toBe(0);
    expect(listed.stdout).toMatch(/^KEY ID\s+NAME\s+ACCESS/);
    expect(listed.stdout).toContain(key.keyId);
    expect(listed.stdout).not.toContain(key.key);
    const revoked = await cli(["keys", "revoke", t, key.keyId, "--json"]);
    expect(JSON.parse(revoked.stdout).revokedAt).not.toBeNull();
  });

  it("sets, reads and resets a tenant's limits", async () => {
    const t = tenant("cli");
    const set = await cli(["limits", "set", t, "--policy", "burst=7/1m", "--policy", "hourly=70/1h", "--create", "--json"]);
    expect(set.code).toBe(0);
    expect(JSON.parse(set.stdout)).toMatchObject({ overridden: true, policies: [{ name: "burst", limit: 7, window: "1m" }, { name: "hourly", limit: 70, window: "1h" }] });
    const got = await cli(["limits", "get", t]);
    expect(got.stdout).toMatch(/override/);
    expect(got.stdout).toMatch(/burst\s+7\s+1m/);
    const reset = await cli(["limits", "reset", t, "--json"]);
    expect(JSON.parse(reset.stdout).overridden).toBe(false);
  });

  it("plans a diff (set, change, reset), applies it, and finds nothing to do on a second apply", async () => {
    const [a, b, c, untouched] = [tenant("plan-a"), tenant("plan-b"), tenant("plan-c"), tenant("plan-untouched")];
    for (const t of [b, c, untouched]) expect((await cli(["limits", "set", t, "--policy", "burst=5/1m", "--create"])).code).toBe(0);
    const file = path.join(dir, "tenants.json");
    writeFileSync(file, JSON.stringify({ environment: "development", tenants: { [a]: { rateLimit: { policies: [{ name: "burst", limit: 10, window: "1m" }] } }, [b]: { rateLimit: { policies: [{ name: "burst", limit: 50, window: "60s" }] } }, [c]: { rateLimit: null } } }));

    const plan = await cli(["plan", file, "--json"]);
    expect(plan.code).toBe(0);
    const { changes } = JSON.parse(plan.stdout);
    expect(changes.map((x) => [x.tenantId, x.action])).toEqual([[a, "set"], [b, "change"], [c, "reset"]]);
    expect(changes[1].before).toEqual([{ name: "burst", limit: 5, window: "1m", mode: "enforce" }]);
    const planText = await cli(["plan", file]);
    expect(planText.stdout).toContain(`+ set    tenant ${a} (new tenant): default -> burst 10/1m`);
    expect(planText.stdout).toContain(`~ change tenant ${b}: burst 5/1m -> burst 50/60s`);
    expect(planText.stdout).toContain(`- reset  tenant ${c}: burst 5/1m -> default`);
    // plan changed nothing: the new tenant is still unknown
    expect(JSON.parse((await cli(["limits", "get", a, "--json"])).stderr)).toMatchObject({ status: 404, details: { resourceType: "tenant" } });

    expect((await cli(["apply", file])).code).toBe(2); // not a terminal and no --yes: refused
    const applied = await cli(["apply", file, "--yes", "--json"]);
    expect(applied.code).toBe(0);
    expect(JSON.parse(applied.stdout).applied).toHaveLength(3);
    expect(JSON.parse((await cli(["limits", "get", b, "--json"])).stdout).policies).toEqual([{ name: "burst", limit: 50, window: "1m", mode: "enforce" }]);
    expect(JSON.parse((await cli(["limits", "get", c, "--json"])).stdout).overridden).toBe(false);

    const again = await cli(["apply", file, "--yes", "--json"]);
    expect(JSON.parse(again.stdout)).toMatchObject({ changes: [], applied: [], unchanged: 3 });
    expect((await cli(["plan", file])).stdout).toContain("no changes");
    // the audit trail shows who changed what, before and after
    const trail = JSON.parse((await cli(["audit", b, "--json"])).stdout);
    const burst = (limit) => [{ name: "burst", limit, window: "1m", mode: "enforce", scope: "tenant" }];
    expect(trail.data.map((e) => [e.action, e.actor, e.before, e.after])).toEqual([
      ["rate-limit.set", "admin-secret", burst(5), burst(50)],
      ["rate-limit.set", "admin-secret", null, burst(5)],
    ]);
    expect((await cli(["audit", b])).stdout).toMatch(/^AT\s+ACTOR\s+ACTION/);
    // a tenant not in the file keeps its override
    expect(JSON.parse((await cli(["limits", "get", untouched, "--json"])).stdout).overridden).toBe(true);
  });

  it("refuses a file meant for another environment (exit 1, the gateway names it) and changes nothing", async () => {
    const t = tenant("plan-env");
    const file = path.join(dir, "prod.json");
    writeFileSync(file, JSON.stringify({ environment: "production", tenants: { [t]: { rateLimit: { policies: [{ name: "burst", limit: 1, window: "1m" }] } } } }));
    const res = await cli(["apply", file, "--yes"]);
    expect(res.code).toBe(1);
    expect(res.stderr).toContain('environment: Must be "development", this gateway\'s environment: the file is for "production"');
    expect((await cli(["limits", "get", t, "--json"])).code).toBe(1);
  });

  it("exits 1 on an API error with the envelope's code and details.fields", async () => {
    const res = await cli(["limits", "set", tenant("cli"), "--policy", "burst=0/1m", "--create", "--json"]);
    expect(res.code).toBe(1);
    expect(JSON.parse(res.stderr)).toMatchObject({ status: 400, code: "VALIDATION_ERROR", details: { fields: { "policies[0].limit": expect.any(String) } } });
    const text = await cli(["limits", "set", tenant("cli"), "--policy", "burst=0/1m", "--create"]);
    expect(text.stderr).toContain("policies[0].limit:");
  });

  it("exits 1 with UNAUTHORIZED for a wrong secret, and never prints either secret", async () => {
    const wrong = "not-the-secret-0123456789";
    const secretFile = path.join(dir, "secret");
    writeFileSync(secretFile, `${wrong}\n`);
    const res = await cli(["keys", "list", "demo", "--secret-file", secretFile]);
    expect(res.code).toBe(1);
    expect(res.stderr).toContain("UNAUTHORIZED");
    for (const out of [res.stdout, res.stderr]) {
      expect(out).not.toContain(wrong);
      expect(out).not.toContain(SECRET);
    }
  });

  it("exits 2 on usage errors (unknown command, unknown flag, --secret on the command line)", async () => {
    expect((await cli(["frobnicate"])).code).toBe(2);
    expect((await cli(["keys", "list", "demo", "--polcy", "x"])).code).toBe(2);
    const res = await cli(["keys", "list", "demo", "--secret", SECRET]);
    expect(res.code).toBe(2);
    expect(res.stderr).not.toContain(SECRET);
  });

  it("plans nothing and applies nothing when any entry is invalid, naming every problem (unknown fields, bad values, unknown keys, no environment)", async () => {
    const [good, typo, bad] = [tenant("v-good"), tenant("v-typo"), tenant("v-bad")];
    const { keyId } = JSON.parse((await cli(["keys", "create", good, "--name", "k", "--access", "psa=read", "--json"])).stdout);
    const burst = { name: "burst", limit: 5, window: "1m" };
    const file = path.join(dir, "invalid.json");
    writeFileSync(file, JSON.stringify({
      environment: "development",
      tenants: {
        [good]: { rateLimit: { policies: [burst] }, keys: { [keyId]: { rateLimit: { policies: [{ ...burst, mode: "shdow" }] } }, key_0123456789abcdef: { rateLimit: null } } },
        [typo]: { ratelimit: { policies: [burst] } },
        [bad]: { rateLimit: { policies: [{ ...burst, window: "1minute" }] } },
      },
    }));
    for (const command of ["plan", "apply"]) {
      const res = await cli([command, file, "--yes"].filter((a) => command === "apply" || a !== "--yes"));
      expect(res.code, command).toBe(1);
      expect(res.stderr).toContain(`tenants.${good}.keys.${keyId}.rateLimit.policies[0].mode: Must be "enforce" or "shadow"`);
      expect(res.stderr).toContain(`tenants.${good}.keys.key_0123456789abcdef: No such key for this tenant`);
      expect(res.stderr).toContain(`tenants.${typo}.ratelimit: Unknown field; one of rateLimit, keys`);
      expect(res.stderr).toContain(`tenants.${bad}.rateLimit.policies[0].window: Must be a duration`);
      expect(res.stderr).toContain("nothing planned, nothing applied");
    }
    // The valid entry was not applied either.
    expect(JSON.parse((await cli(["limits", "get", good, "--json"])).stdout).overridden).toBe(false);
    writeFileSync(file, JSON.stringify({ tenants: { [good]: { rateLimit: { policies: [burst] } } } }));
    const noEnv = await cli(["plan", file]);
    expect(noEnv.code).toBe(1);
    expect(noEnv.stderr).toContain("environment: Must name the environment");
  });

  it("plans the committed example, config/tenants.development.json, as a valid file", async () => {
    const res = await cli(["plan", path.join(ROOT, "config", "tenants.development.json"), "--json"]);
    expect(res.code).toBe(0);
    expect(JSON.parse(res.stdout).environment).toBe("development");
  });

  it("plan --detailed-exitcode: 2 with changes, 0 without, 1 on an error", async () => {
    const t = tenant("drift");
    const file = path.join(dir, "drift.json");
    writeFileSync(file, JSON.stringify({ environment: "development", tenants: { [t]: { rateLimit: { policies: [{ name: "burst", limit: 9, window: "1m" }] } } } }));
    expect((await cli(["plan", file, "--detailed-exitcode"])).code).toBe(2);
    expect((await cli(["apply", file, "--yes"])).code).toBe(0);
    expect((await cli(["plan", file, "--detailed-exitcode"])).code).toBe(0);
    writeFileSync(file, JSON.stringify({ environment: "development", tenants: { [t]: { rateLimit: { policies: [{ name: "burst", limit: 9, window: "soon" }] } } } }));
    expect((await cli(["plan", file, "--detailed-exitcode"])).code).toBe(1);
    expect((await cli(["plan", path.join(dir, "missing.json"), "--detailed-exitcode"])).code).toBe(1);
  });

  it("lists tenants with counts, and dumps the live state as a file that plans as no changes", async () => {
    const [a, b] = [tenant("ls-a"), tenant("ls-b")];
    const { keyId } = JSON.parse((await cli(["keys", "create", a, "--name", "k", "--access", "psa=read", "--json"])).stdout);
    expect((await cli(["limits", "set", a, "--key", keyId, "--policy", "k=3/1m:shadow"])).code).toBe(0);
    expect((await cli(["limits", "set", b, "--policy", "burst=4/1m", "--create"])).code).toBe(0);
    const listed = await cli(["tenants", "list"]);
    expect(listed.code).toBe(0);
    expect(listed.stdout).toMatch(/^TENANT\s+KEYS\s+USABLE\s+OVERRIDE\s+KEYS WITH POLICIES\s+LAST CHANGE/);
    expect(listed.stdout).toMatch(new RegExp(`^${a}\\s+1\\s+1\\s+no\\s+1\\s+\\d{4}-`, "m"));
    expect(listed.stdout).toMatch(new RegExp(`^${b}\\s+0\\s+0\\s+yes\\s+0\\s+\\d{4}-`, "m"));

    const file = path.join(dir, "dump.json");
    expect((await cli(["dump", "--out", file])).code).toBe(0);
    const dumped = JSON.parse(readFileSync(file, "utf8"));
    expect(dumped.environment).toBe("development");
    expect(dumped.tenants[a]).toEqual({ rateLimit: null, keys: { [keyId]: { rateLimit: { policies: [{ name: "k", limit: 3, window: "1m", mode: "shadow" }] } } } });
    expect(dumped.tenants[b]).toEqual({ rateLimit: { policies: [{ name: "burst", limit: 4, window: "1m" }] } });
    const plan = await cli(["plan", file, "--detailed-exitcode"]);
    expect(plan.stdout).toContain("no changes");
    expect(plan.code).toBe(0);
  });

  it("refuses limits set on a tenant the gateway does not know, unless --create", async () => {
    const t = tenant("typo");
    const res = await cli(["limits", "set", t, "--policy", "burst=5/1m"]);
    expect(res.code).toBe(1);
    expect(res.stderr).toContain(`tenant ${t} has no keys, no policies and no admin changes: check the spelling, or pass --create`);
    expect((await cli(["limits", "reset", t])).code).toBe(1);
    expect((await cli(["tenants", "list", "--json"])).stdout).not.toContain(t);
    expect((await cli(["limits", "set", t, "--policy", "burst=5/1m", "--create"])).code).toBe(0);
    expect((await cli(["limits", "set", t, "--policy", "burst=6/1m"])).code).toBe(0);
  });

  it("changes a key's name and expiry without a roll; shows state, grace end and successor; audit shows before and after", async () => {
    const t = tenant("keys");
    const created = JSON.parse((await cli(["keys", "create", t, "--name", "old", "--access", "psa=read", "--expires-at", "2031-01-01T00:00:00Z", "--json"])).stdout);
    const updated = await cli(["keys", "update", t, created.keyId, "--name", "new", "--expires-at", "never", "--json"]);
    expect(updated.code).toBe(0);
    expect(JSON.parse(updated.stdout)).toMatchObject({ keyId: created.keyId, name: "new", expiresAt: null, state: "active" });
    expect((await cli(["keys", "update", t, created.keyId])).stderr).toContain("nothing to change");

    const rolled = JSON.parse((await cli(["keys", "roll", t, created.keyId, "--grace-period", "1h", "--json"])).stdout);
    const listed = await cli(["keys", "list", t]);
    expect(listed.stdout).toMatch(/^KEY ID\s+NAME\s+ACCESS\s+STATE\s+CREATED\s+EXPIRES\s+GRACE UNTIL\s+SUCCESSOR/);
    expect(listed.stdout).toMatch(new RegExp(`^${created.keyId}\\s+new\\s+psa:read\\s+rolling\\s+\\S+\\s+-\\s+${rolled.previous.graceUntil.replace(/\./g, "\\.")}\\s+${rolled.keyId}$`, "m"));
    expect(listed.stdout).toMatch(new RegExp(`^${rolled.keyId}\\s+new\\s+psa:read\\s+active\\s`, "m"));

    expect((await cli(["limits", "set", t, "--key", rolled.keyId, "--policy", "k=2/1m"])).code).toBe(0);
    expect((await cli(["limits", "get", t])).stdout).toContain(`keys with policies of their own (limits get ${t} --key KEY_ID): ${rolled.keyId}`);

    const trail = await cli(["audit", t]);
    expect(trail.stdout).toMatch(/^AT\s+ACTOR\s+ACTION\s+KEY\s+BEFORE\s+AFTER/);
    expect(trail.stdout).toMatch(new RegExp(`key\\.updated\\s+${created.keyId}\\s+\\{"name":"old","expiresAt":"2031-01-01T00:00:00\\.000Z"\\}\\s+\\{"name":"new","expiresAt":null\\}`));
  });

  it("says 'unknown flag' (with a suggestion) and prints one line and a pointer to --help for usage errors", async () => {
    const res = await cli(["keys", "list", "demo", "--jsn"]);
    expect(res.code).toBe(2);
    expect(res.stderr).toBe("error: unknown flag --jsn (did you mean --json?)\nrun `npm run admin -- --help` for usage\n");
    const secret = await cli(["keys", "list", "demo", "--secret", "s3cr3t-value"]);
    expect(secret.stderr).toBe("error: --secret is not accepted (it would show in the shell history and process list): use --secret-file or ONESTACK_ADMIN_SECRET\nrun `npm run admin -- --help` for usage\n");
    expect((await cli(["keys", "list", "demo", "--secret=s3cr3t-value"])).stderr).not.toContain("s3cr3t-value");
    expect((await cli(["frobnicate"])).stderr.split("\n")).toHaveLength(3);
    expect((await cli(["plan", "x.json", "--yes"])).stderr).toContain("error: --yes is not a flag of plan\n");
    const help = await cli(["--help"]);
    expect(help.code).toBe(0);
    expect(help.stdout).toContain("usage: npm run admin -- <command>");
  });

  it("npm run token -- --help prints help; an unknown option is one line, not a stack trace", async () => {
    const run = (args) => new Promise((resolve) => execFile(NODE, [path.join(ROOT, "scripts", "token.mjs"), ...args], { timeout: 30_000 }, (err, stdout, stderr) => resolve({ code: err ? err.code : 0, stdout, stderr })));
    const help = await run(["--help"]);
    expect(help.code).toBe(0);
    expect(help.stdout).toMatch(/^usage: npm run token -- /);
    const bad = await run(["--tenant-id", "x"]);
    expect(bad.code).toBe(2);
    expect(bad.stderr).not.toMatch(/\n\s+at /);
    expect(bad.stderr).toMatch(/run `npm run token -- --help` for usage\n$/);
    expect(bad.stderr).toMatch(/^token: Unknown option '--tenant-id'/);
  });

  it("reaches a deployment behind Cloudflare Access with a service token from the environment", async () => {
    // Cloudflare Access cannot run locally: a stand-in at the network boundary plays it, as Access does for
    // a service token: the two headers checked, then the request passed to the gateway; without them, a
    // redirect to the team's sign-in page.
    const ID = "0123456789abcdef.access";
    const TOKEN_SECRET = "access-service-token-secret-0123456789";
    const seen = [];
    const access = createServer((req, res) => {
      seen.push({ id: req.headers["cf-access-client-id"], secret: req.headers["cf-access-client-secret"] });
      if (req.headers["cf-access-client-id"] !== ID || req.headers["cf-access-client-secret"] !== TOKEN_SECRET) {
        res.writeHead(302, { location: "https://example-team.cloudflareaccess.com/cdn-cgi/access/login/admin.example" }).end();
        return;
      }
      const headers = { ...req.headers, host: new URL(stack.baseUrl).host };
      delete headers["cf-access-client-id"];
      delete headers["cf-access-client-secret"];
      req.pipe(
        httpRequest(new URL(req.url, stack.baseUrl), { method: req.method, headers }, (upstream) => {
          res.writeHead(upstream.statusCode, upstream.headers);
          upstream.pipe(res);
        }),
      );
    });
    await new Promise((resolve) => access.listen(0, "127.0.0.1", resolve));
    const url = `http://127.0.0.1:${access.address().port}`;
    try {
      const refused = await cli(["keys", "list", "demo"], { ONESTACK_ADMIN_URL: url });
      expect(refused.code).toBe(1);
      expect(refused.stderr).toContain("Cloudflare Access did not let the request through: set CF_ACCESS_CLIENT_ID and CF_ACCESS_CLIENT_SECRET");
      const through = await cli(["keys", "list", "demo", "--json"], { ONESTACK_ADMIN_URL: url, CF_ACCESS_CLIENT_ID: ID, CF_ACCESS_CLIENT_SECRET: TOKEN_SECRET });
      expect(through.code).toBe(0);
      expect(Array.isArray(JSON.parse(through.stdout))).toBe(true);
      expect(seen.at(-1)).toEqual({ id: ID, secret: TOKEN_SECRET });
      const half = await cli(["keys", "list", "demo"], { ONESTACK_ADMIN_URL: url, CF_ACCESS_CLIENT_ID: ID });
      expect(half.code).toBe(2);
      expect(half.stderr).toContain("needs both CF_ACCESS_CLIENT_ID and CF_ACCESS_CLIENT_SECRET");
      for (const out of [refused, through, half]) expect(out.stdout + out.stderr).not.toContain(TOKEN_SECRET);
    } finally {
      await new Promise((resolve) => access.close(resolve));
    }
  });

  it("reports a gateway whose configuration is invalid as that, with the field health names", async () => {
    // `npm run dev` refuses to start with an invalid configuration, so a deployed one is played here by a
    // stand-in answering as the Worker does then (src/config/with-config.ts, src/ops/health.ts).
    const broken = createServer((req, res) => {
      const health = req.url === "/__gateway/health";
      const body = health
        ? { error: "Gateway configuration is invalid", code: "SERVICE_UNAVAILABLE", details: { version: "0.1.0", build: null, config: { valid: false, field: "RATE_LIMIT_FAIL_MODE" } } }
        : { error: "Internal error", code: "INTERNAL_ERROR", details: null };
      res.writeHead(health ? 503 : 500, { "content-type": "application/json" }).end(JSON.stringify(body));
    });
    await new Promise((resolve) => broken.listen(0, "127.0.0.1", resolve));
    try {
      const url = `http://127.0.0.1:${broken.address().port}`;
      const res = await cli(["keys", "list", "demo"], { ONESTACK_ADMIN_URL: url });
      expect(res.code).toBe(1);
      expect(res.stderr).toContain("the gateway's configuration is invalid (field RATE_LIMIT_FAIL_MODE, as its health endpoint reports)");
      const dump = await cli(["dump"], { ONESTACK_ADMIN_URL: url });
      expect(dump.stderr).toContain("Gateway configuration is invalid (SERVICE_UNAVAILABLE, HTTP 503)");
      expect(dump.stderr).not.toContain("environment null");
    } finally {
      await new Promise((resolve) => broken.close(resolve));
    }
  });

  it("exits 3 when the admin API cannot be reached", async () => {
    expect((await cli(["keys", "list", "demo"], { ONESTACK_ADMIN_URL: "http://127.0.0.1:9" })).code).toBe(3);
  });

  // Last: it spends this address's admin failure budget, which refuses every admin request from it for 60 s.
  it("says a 429 from the admin failure budget is that, with how long to wait", async () => {
    let res;
    for (let i = 0; i < 12; i += 1) {
      res = await cli(["keys", "list", "demo"], { ONESTACK_ADMIN_SECRET: `wrong-secret-${i}` });
      if (res.stderr.includes("429")) break;
    }
    expect(res.code).toBe(1);
    expect(res.stderr).toMatch(/^error: too many failed admin authentications from this address: the admin API refuses it for \d+ s \(RATE_LIMIT_EXCEEDED, HTTP 429\); check the secret/);
  });
});
