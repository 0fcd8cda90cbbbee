import { describe, expect, it } from "vitest";
import { parseConfig, type GatewayConfig } from "../../src/config";
import { parseProducts, parseUpstream } from "../../src/config/products";
import { configErrorField } from "../support/config-error";

const route = { method: "GET", path: "/tickets" };

/** The deadlines on the gateway's own stores: each var, the setting it becomes, its default and its largest value. */
const DEADLINES: Array<[string, (c: GatewayConfig) => number, number, number]> = [
  ["KEY_KV_TIMEOUT_MS", (c) => c.auth.keyKvTimeoutMs, 500, 30_000],
  ["KEY_DIRECTORY_TIMEOUT_MS", (c) => c.auth.keyDirectoryTimeoutMs, 1000, 30_000],
  ["AUTH_LIMITER_TIMEOUT_MS", (c) => c.auth.failureLimiterTimeoutMs, 1000, 30_000],
  ["ADMIN_STORE_TIMEOUT_MS", (c) => c.admin.storeTimeoutMs, 5000, 60_000],
  ["AUDIT_TIMEOUT_MS", (c) => c.admin.auditTimeoutMs, 2000, 60_000],
];

describe("configuration", () => {
  it("loads the shipped products with psa and rmm", () => {
    const config = parseConfig({});
    expect(config.products.map((p) => p.name)).toEqual(["psa", "rmm"]);
    expect(config.productsByBase.get("/psa")?.routes.length).toBeGreaterThan(0);
  });

  it("gives every route a cost: 1 unless configured (the PSA export costs 10)", () => {
    const routes = parseConfig({}).productsByBase.get("/psa")?.routes ?? [];
    expect(routes.find((r) => r.pattern === "/tickets" && r.method === "GET")?.cost).toBe(1);
    expect(routes.find((r) => r.pattern === "/exports/tickets")?.cost).toBe(10);
  });

  it("lets UPSTREAM_<PRODUCT> override an upstream at start-up", () => {
    const config = parseConfig({ UPSTREAM_PSA: "http://127.0.0.1:9000/api/" });
    expect(config.productsByBase.get("/psa")?.upstream).toEqual({ kind: "url", origin: "http://127.0.0.1:9000", basePath: "/api" });
  });

  it("names the bad var", () => {
    expect(configErrorField(() => parseConfig({ UPSTREAM_RMM: "ftp://x" }))).toBe("UPSTREAM_RMM");
    expect(configErrorField(() => parseConfig({ MAX_BODY_BYTES: "ten" }))).toBe("MAX_BODY_BYTES");
  });

  it.each(DEADLINES)("defaults %s to today's value and reads it from 10 ms up to its bound", (name, setting, fallback, max) => {
    expect(setting(parseConfig({}))).toBe(fallback);
    expect(setting(parseConfig({ [name]: "10" }))).toBe(10);
    expect(setting(parseConfig({ [name]: String(max) }))).toBe(max);
    expect(setting(parseConfig({ [name]: 50 }))).toBe(50);
  });

  it.each(DEADLINES)("refuses %s outside its bounds or not a whole number of ms, naming it", (name, _setting, _fallback, max) => {
    for (const bad of ["9", "0", String(max + 1), "-50", "1.5", "1e3", " 50", "ten", 2.5]) {
      expect(configErrorField(() => parseConfig({ [name]: bad }))).toBe(name);
    }
  });

  it.each([
    [{ psa: { basePath: "psa", upstream: "http://x", routes: [route] } }, "products.psa.basePath"],
    [{ psa: { basePath: "/psa", upstream: "http://u:p@x", routes: [route] } }, "products.psa.upstream"],
    [{ psa: { basePath: "/psa", upstream: "http://x", routes: [] } }, "products.psa.routes"],
    [{ psa: { basePath: "/psa", upstream: "http://x", routes: [{ method: "TRACE", path: "/t" }] } }, "products.psa.routes[0].method"],
    [{ psa: { basePath: "/psa", upstream: "http://x", routes: [{ method: "GET", path: "/a/../b" }] } }, "products.psa.routes[0].path"],
    [{ psa: { basePath: "/psa", upstream: "http://x", routes: [{ method: "GET", path: "/a", permission: "A B" }] } }, "products.psa.routes[0].permission"],
    [{ psa: { basePath: "/psa", upstream: "http://x", routes: [route, { method: "GET", path: "/tickets" }] } }, "products.psa.routes[1]"],
    [{ psa: { basePath: "/psa", upstream: "http://x", timeoutMs: 0, routes: [route] } }, "products.psa.timeoutMs"],
    [{ Bad: { basePath: "/b", upstream: "http://x", routes: [route] } }, "products.Bad"],
    [{ psa: { basePath: "/psa", upstream: "http://x", routes: [{ ...route, allowMatrixParams: "yes" }] } }, "products.psa.routes[0].allowMatrixParams"],
    [{ psa: { basePath: "/psa", upstream: "http://x", routes: [{ ...route, allowMatrixParam: true }] } }, "products.psa.routes[0].allowMatrixParam"],
    [{ psa: { basePath: "/psa", upstream: "http://x", routes: [{ ...route, cost: 0 }] } }, "products.psa.routes[0].cost"],
    [{ psa: { basePath: "/psa", upstream: "http://x", routes: [{ ...route, cost: 1001 }] } }, "products.psa.routes[0].cost"],
    [{ psa: { basePath: "/psa", upstream: "http://x", routes: [{ ...route, cost: 2.5 }] } }, "products.psa.routes[0].cost"],
    [{ constructor: { basePath: "/c", upstream: "http://x", routes: [route] } }, "products.constructor"],
    [{ prototype: { basePath: "/p", upstream: "http://x", routes: [route] } }, "products.prototype"],
  ])("refuses an invalid products document, naming the field (%#)", (doc, field) => {
    expect(configErrorField(() => parseProducts(doc, {}))).toBe(field);
  });

  it("refuses a service upstream whose binding is missing, not a Worker, or only on the prototype", () => {
    const doc = (upstream: string) => ({ psa: { basePath: "/psa", upstream, routes: [route] } });
    expect(configErrorField(() => parseProducts(doc("service:PSA_BACKEND"), {}))).toBe("products.psa.upstream");
    expect(configErrorField(() => parseProducts(doc("service:KEYS"), { KEYS: { get: () => null } }))).toBe("products.psa.upstream");
    expect(configErrorField(() => parseProducts(doc("http://x"), { UPSTREAM_PSA: "service:ADMIN_SECRET", ADMIN_SECRET: "s" }))).toBe("UPSTREAM_PSA");
    const inherited = Object.create({ PSA_BACKEND: { fetch: () => null } }) as Record<string, unknown>;
    expect(configErrorField(() => parseProducts(doc("service:PSA_BACKEND"), inherited))).toBe("products.psa.upstream");
    expect(parseProducts(doc("service:PSA_BACKEND"), { PSA_BACKEND: { fetch: () => null } })[0]?.upstream).toEqual({ kind: "service", binding: "PSA_BACKEND" });
  });

  it("accepts a service binding upstream", () => {
    expect(parseUpstream("service:PSA_BACKEND", "x")).toEqual({ kind: "service", binding: "PSA_BACKEND" });
  });
});
