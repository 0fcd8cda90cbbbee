// End to end: `npm run admin` (scripts/admin.mjs) against the real `npm run dev` stack: keys, limits,
// plan/apply with a diff and an idempotent second apply, the exit codes scripts rely on, and a secret
// that never appears in the output.
import { execFile } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
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
    const set = await cli(["limits", "set", t, "--policy", "burst=7/1m", "--policy", "hourly=70/1h", "--json"]);
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
    for (const t of [b, c, untouched]) expect((await cli(["limits", "set", t, "--policy", "burst=5/1m"])).code).toBe(0);
    const file = path.join(dir, "tenants.json");
    writeFileSync(file, JSON.stringify({ environment: "development", tenants: { [a]: { rateLimit: { policies: [{ name: "burst", limit: 10, window: "1m" }] } }, [b]: { rateLimit: { policies: [{ name: "burst", limit: 50, window: "60s" }] } }, [c]: { rateLimit: null } } }));

    const plan = await cli(["plan", file, "--json"]);
    expect(plan.code).toBe(0);
    const { changes } = JSON.parse(plan.stdout);
    expect(changes.map((x) => [x.tenantId, x.action])).toEqual([[a, "set"], [b, "change"], [c, "reset"]]);
    expect(changes[1].before).toEqual([{ name: "burst", limit: 5, window: "1m", mode: "enforce" }]);
    const planText = await cli(["plan", file]);
    expect(planText.stdout).toContain(`+ set    tenant ${a}: default -> burst 10/1m`);
    expect(planText.stdout).toContain(`~ change tenant ${b}: burst 5/1m -> burst 50/60s`);
    expect(planText.stdout).toContain(`- reset  tenant ${c}: burst 5/1m -> default`);
    // plan changed nothing
    expect(JSON.parse((await cli(["limits", "get", a, "--json"])).stdout).overridden).toBe(false);

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

  it("refuses a file meant for another environment (exit 2) and changes nothing", async () => {
    const t = tenant("plan-env");
    const file = path.join(dir, "prod.json");
    writeFileSync(file, JSON.stringify({ environment: "production", tenants: { [t]: { rateLimit: { policies: [{ name: "burst", limit: 1, window: "1m" }] } } } }));
    expect((await cli(["apply", file, "--yes"])).code).toBe(2);
    expect(JSON.parse((await cli(["limits", "get", t, "--json"])).stdout).overridden).toBe(false);
  });

  it("exits 1 on an API error with the envelope's code and details.fields", async () => {
    const res = await cli(["limits", "set", tenant("cli"), "--policy", "burst=0/1m", "--json"]);
    expect(res.code).toBe(1);
    expect(JSON.parse(res.stderr)).toMatchObject({ status: 400, code: "VALIDATION_ERROR", details: { fields: { "policies[0].limit": expect.any(String) } } });
    const text = await cli(["limits", "set", tenant("cli"), "--policy", "burst=0/1m"]);
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

  it("exits 3 when the admin API cannot be reached", async () => {
    expect((await cli(["keys", "list", "demo"], { ONESTACK_ADMIN_URL: "http://127.0.0.1:9" })).code).toBe(3);
  });
});
