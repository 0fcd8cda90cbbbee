// Smoke test of the demo backends on their own (no gateway): the e2e suite relies on these behaviours, so
// they are pinned here. Each test uses its own tenant; the backends run in-process on free ports.

import { createHash, randomBytes, randomUUID } from "node:crypto";
import http from "node:http";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { PATTERN } from "../../dev/backends/byte-streams.mjs";
import { leakMarkers } from "../../dev/backends/faults.mjs";
import { startBackends } from "../../dev/backends/start.mjs";

let backends;
let psa;
let rmm;

beforeAll(async () => {
  backends = await startBackends({ psaPort: 0, rmmPort: 0 });
  psa = `http://127.0.0.1:${backends.psaPort}`;
  rmm = `http://127.0.0.1:${backends.rmmPort}`;
});
afterAll(() => backends?.close());

const newTenant = () => `t_${randomUUID()}`;
const sha256 = (bytes) => createHash("sha256").update(bytes).digest("hex");

/** fetch with the gateway's identity headers and an optional JSON body. */
function call(base, path, { method = "GET", tenant, customer, json, headers = {} } = {}) {
  const h = { ...headers };
  if (tenant) h["X-OneStack-Tenant-Id"] = tenant;
  if (customer) h["X-OneStack-Customer-Id"] = customer;
  if (json !== undefined) h["Content-Type"] = "application/json";
  const body = json === undefined ? undefined : typeof json === "string" ? json : JSON.stringify(json);
  return fetch(base + path, { method, headers: h, body, redirect: "manual" });
}

/** A request with exactly these raw header pairs (case and order kept), via node:http. */
function rawRequest(port, { method, target, headers, body }) {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: "127.0.0.1", port, method, path: target, headers: headers.flat() }, (res) => {
      const chunks = [];
      res.on("data", (c) => chunks.push(c));
      res.on("end", () => resolve({ status: res.statusCode, body: Buffer.concat(chunks) }));
    });
    req.on("error", reject);
    req.end(body);
  });
}

async function recorded(base, requestId) {
  const res = await fetch(`${base}/__recorded?requestId=${encodeURIComponent(requestId)}`);
  return (await res.json()).requests;
}

async function createTicket(tenant, fields = {}) {
  const res = await call(psa, "/tickets", { method: "POST", tenant, json: { title: "Printer on fire", ...fields } });
  expect(res.status).toBe(201);
  return res.json();
}

describe("PSA tickets", () => {
  it("creates a ticket at v1 and shows it only to its own tenant", async () => {
    const tenant = newTenant();
    const ticket = await createTicket(tenant, { priority: "high" });
    expect(ticket).toMatchObject({ id: expect.stringMatching(/^tkt_[0-9a-f]+$/), priority: "high", _etag: "v1" });
    const mine = await call(psa, `/tickets/${ticket.id}`, { tenant });
    expect(mine.status).toBe(200);
    expect(mine.headers.get("etag")).toBe('"v1"');
    const theirs = await call(psa, `/tickets/${ticket.id}`, { tenant: newTenant() });
    expect(theirs.status).toBe(404);
    expect(await theirs.json()).toEqual({
      error: expect.any(String),
      code: "NOT_FOUND",
      details: { resourceType: "ticket", resourceId: ticket.id },
    });
  });

  it("answers VALIDATION_ERROR with details.fields for every bad field", async () => {
    const res = await call(psa, "/tickets", { method: "POST", tenant: newTenant(), json: { priority: "urgent" } });
    expect(res.status).toBe(400);
    const body = await res.json();
    expect(body.code).toBe("VALIDATION_ERROR");
    expect(Object.keys(body.details.fields).sort()).toEqual(["priority", "title"]);
  });

  it("answers INVALID_JSON for a malformed body", async () => {
    const res = await call(psa, "/tickets", { method: "POST", tenant: newTenant(), json: '{"title":' });
    expect(res.status).toBe(400);
    expect((await res.json()).code).toBe("INVALID_JSON");
  });

  it("refuses a stale _etag or If-Match with CONFLICT and both versions", async () => {
    const tenant = newTenant();
    const { id } = await createTicket(tenant);
    const ok = await call(psa, `/tickets/${id}`, { method: "PATCH", tenant, json: { _etag: "v1", status: "resolved" } });
    expect(ok.status).toBe(200);
    expect(await ok.json()).toMatchObject({ status: "resolved", _etag: "v2" });

    const staleBody = await call(psa, `/tickets/${id}`, { method: "PUT", tenant, json: { _etag: "v1", title: "x" } });
    expect(staleBody.status).toBe(409);
    expect(await staleBody.json()).toMatchObject({ code: "CONFLICT", details: { currentVersion: "v2", submittedVersion: "v1" } });

    const staleHeader = await call(psa, `/tickets/${id}`, {
      method: "PATCH",
      tenant,
      json: { title: "y" },
      headers: { "If-Match": '"v1"' },
    });
    expect(staleHeader.status).toBe(409);
    expect((await staleHeader.json()).details).toEqual({ currentVersion: "v2", submittedVersion: "v1" });
  });

  it("refuses a second ticket with the same externalId with DUPLICATE_RESOURCE", async () => {
    const tenant = newTenant();
    const first = await createTicket(tenant, { externalId: "EXT-1" });
    const res = await call(psa, "/tickets", { method: "POST", tenant, json: { title: "again", externalId: "EXT-1" } });
    expect(res.status).toBe(409);
    expect(await res.json()).toMatchObject({
      code: "DUPLICATE_RESOURCE",
      details: { field: "externalId", existingId: first.id },
    });
  });

  it("deletes with 204 and then answers NOT_FOUND", async () => {
    const tenant = newTenant();
    const { id } = await createTicket(tenant);
    const del = await call(psa, `/tickets/${id}`, { method: "DELETE", tenant });
    expect(del.status).toBe(204);
    expect((await call(psa, `/tickets/${id}`, { tenant })).status).toBe(404);
  });

  it("streams an attachment and reports its exact size and sha256", async () => {
    const tenant = newTenant();
    const { id } = await createTicket(tenant);
    const bytes = randomBytes(3 * 1024 * 1024);
    const res = await fetch(`${psa}/tickets/${id}/attachments`, {
      method: "POST",
      headers: { "X-OneStack-Tenant-Id": tenant, "Content-Type": "image/png" },
      body: bytes,
    });
    expect(res.status).toBe(201);
    expect(await res.json()).toMatchObject({ size: bytes.length, sha256: sha256(bytes), contentType: "image/png" });
  });

  it("scopes portal tickets to X-OneStack-Customer-Id and requires it", async () => {
    const tenant = newTenant();
    const missing = await call(psa, "/portal/tickets", { tenant });
    expect(missing.status).toBe(400);
    expect((await missing.json()).details.fields).toHaveProperty("X-OneStack-Customer-Id");

    const created = await call(psa, "/portal/tickets", { method: "POST", tenant, customer: "cus_a", json: { title: "Help" } });
    const { id, customerId } = await created.json();
    expect(customerId).toBe("cus_a");
    expect((await call(psa, `/portal/tickets/${id}`, { tenant, customer: "cus_a" })).status).toBe(200);
    expect((await call(psa, `/portal/tickets/${id}`, { tenant, customer: "cus_b" })).status).toBe(404);
    const list = await (await call(psa, "/portal/tickets", { tenant, customer: "cus_b" })).json();
    expect(list.data).toEqual([]);
  });

  it("answers unknown paths with NOT_FOUND and wrong methods with METHOD_NOT_ALLOWED and Allow", async () => {
    const unknown = await call(psa, "/nope");
    expect(unknown.status).toBe(404);
    expect((await unknown.json()).code).toBe("NOT_FOUND");
    const wrong = await call(psa, "/tickets", { method: "DELETE" });
    expect(wrong.status).toBe(405);
    expect(wrong.headers.get("allow")).toBe("GET, POST");
  });
});

describe("RMM devices", () => {
  it("creates a device, validates hostname and os, and queues a script with 202", async () => {
    const tenant = newTenant();
    const bad = await call(rmm, "/devices", { method: "POST", tenant, json: { hostname: "-bad-", os: "beos" } });
    expect(bad.status).toBe(400);
    expect(Object.keys((await bad.json()).details.fields).sort()).toEqual(["hostname", "os"]);

    const created = await call(rmm, "/devices", { method: "POST", tenant, json: { hostname: "ws-01", os: "linux" } });
    expect(created.status).toBe(201);
    const { id } = await created.json();
    const job = await call(rmm, `/devices/${id}/scripts`, { method: "POST", tenant, json: { script: "uptime" } });
    expect(job.status).toBe(202);
    expect(await job.json()).toMatchObject({ jobId: expect.stringMatching(/^job_/), deviceId: id });
  });
});

describe("faults", () => {
  it("html-502 answers an nginx HTML page full of internal details", async () => {
    const res = await call(psa, "/tickets", { headers: { "X-Demo-Fault": "html-502" } });
    expect(res.status).toBe(502);
    expect(res.headers.get("content-type")).toBe("text/html");
    const text = await res.text();
    for (const marker of leakMarkers("psa")) expect(text).toContain(marker);
  });

  it("text-429 carries Retry-After: 7", async () => {
    const res = await call(psa, "/tickets", { headers: { "X-Demo-Fault": "text-429" } });
    expect(res.status).toBe(429);
    expect(res.headers.get("retry-after")).toBe("7");
    expect(res.headers.get("content-type")).toMatch(/^text\/plain/);
  });

  it("drop closes the socket without a response", async () => {
    await expect(call(psa, "/tickets", { headers: { "X-Demo-Fault": "drop" } })).rejects.toThrow();
  });

  it("large=<n> streams exactly n bytes of the documented pattern", async () => {
    const n = 5 * 1024 * 1024 + 7;
    const res = await call(rmm, "/devices", { headers: { "X-Demo-Fault": `large=${n}` } });
    expect(res.status).toBe(200);
    const bytes = Buffer.from(await res.arrayBuffer());
    expect(bytes.length).toBe(n);
    expect(bytes.subarray(n - 7).equals(PATTERN.subarray(n % PATTERN.length - 7, n % PATTERN.length))).toBe(true);
  });

  it("an unknown fault is a VALIDATION_ERROR naming the header", async () => {
    const res = await call(psa, "/tickets", { headers: { "X-Demo-Fault": "explode" } });
    expect(res.status).toBe(400);
    expect((await res.json()).details.fields).toHaveProperty("X-Demo-Fault");
  });
});

describe("recorder", () => {
  it("returns the exact target, raw headers and body bytes a backend received", async () => {
    const tenant = newTenant();
    const { id } = await createTicket(tenant);
    const requestId = randomUUID();
    const body = randomBytes(4096);
    const target = `/tickets/${id}/attachments?b=2&a=1&a=%2F..%2f`;
    // With raw header pairs node:http adds no Host (the server requires one) but adds Connection unless given.
    const headers = [
      ["Host", `127.0.0.1:${backends.psaPort}`],
      ["X-Request-Id", requestId],
      ["X-OneStack-Tenant-Id", tenant],
      ["x-MiXeD-Case", "one"],
      ["x-mixed-case", "two"],
      ["Content-Type", "application/octet-stream"],
      ["Content-Length", String(body.length)],
      ["Connection", "close"],
    ];
    const res = await rawRequest(backends.psaPort, { method: "POST", target, headers, body });
    expect(res.status).toBe(201);

    const [entry] = await recorded(psa, requestId);
    expect(entry).toMatchObject({ method: "POST", url: target, bodyLength: body.length, bodySha256: sha256(body), bodyComplete: true });
    expect(Buffer.from(entry.bodyBase64, "base64").equals(body)).toBe(true);
    expect(entry.rawHeaders).toEqual(headers);
    expect(entry.headers["x-mixed-case"]).toBe("one, two");
  });

  it("keeps large bodies by length and hash only, and records faulted requests too", async () => {
    const requestId = randomUUID();
    const body = randomBytes(300 * 1024);
    const res = await fetch(`${psa}/tickets`, {
      method: "POST",
      headers: { "X-Request-Id": requestId, "X-Demo-Fault": "json-500" },
      body,
    });
    expect(res.status).toBe(500);
    const [entry] = await recorded(psa, requestId);
    expect(entry).toMatchObject({ bodyLength: body.length, bodySha256: sha256(body), bodyBase64: null });
  });

  it("does not record its own control routes, and DELETE /__recorded clears", async () => {
    await fetch(`${rmm}/__recorded?requestId=x`, { headers: { "X-Request-Id": "control" } });
    expect(await recorded(rmm, "control")).toEqual([]);
    await call(rmm, "/devices", { headers: { "X-Request-Id": "to-clear" } });
    expect(await recorded(rmm, "to-clear")).toHaveLength(1);
    expect((await fetch(`${rmm}/__recorded`, { method: "DELETE" })).status).toBe(204);
    expect(await recorded(rmm, "to-clear")).toEqual([]);
  });
});
