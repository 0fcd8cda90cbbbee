import { describe, expect, it } from "vitest";
import type { Product } from "../../src/config/products";
import { upstreamUrl } from "../../src/proxy/forward";
import { refusal } from "../support/refusal";

function product(basePath: string): Product {
  return { name: "psa", basePath: "/psa", upstream: { kind: "url", origin: "https://psa.internal.example", basePath }, timeoutMs: 1000, routes: [] };
}

describe("upstreamUrl", () => {
  it("joins the product's origin, its base path, the validated path and the query", () => {
    expect(upstreamUrl(product("/api"), "/tickets/42", "?page=2")).toBe("https://psa.internal.example/api/tickets/42?page=2");
    expect(upstreamUrl(product(""), "/tickets", "")).toBe("https://psa.internal.example/tickets");
  });

  it("refuses a path that would extend the origin's host instead of following it", () => {
    // "https://psa.internal.example" + ".evil.example/x" names another host; no validated path looks like this.
    const err = refusal(() => upstreamUrl(product(""), ".evil.example/x", ""));
    expect(err.code).toBe("INTERNAL_ERROR");
    expect(err.status).toBe(500);
  });

  it("keeps the host for any path that starts with a slash, whatever follows", () => {
    for (const path of ["//evil.example/x", "/@evil.example", "/..%2f..", "/a:b@evil.example"]) {
      expect(new URL(upstreamUrl(product(""), path, "")).host).toBe("psa.internal.example");
    }
  });
});
