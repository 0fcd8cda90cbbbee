import { describe, expect, it } from "vitest";
import { parsePolicyList, parseRateLimitConfig } from "../../src/config/rate-limit";
import { configErrorField } from "../support/config-error";
import { GatewayError } from "../../src/errors";
import { policiesInput } from "../../src/admin/input";
import { formatWindow, parseWindow } from "../../src/shared/policy";


describe("rate-limit windows", () => {
  it.each([
    ["1s", 1],
    ["90s", 90],
    ["1m", 60],
    ["2h", 7200],
    ["1d", 86_400],
  ])("parses %s as %i seconds", (text, seconds) => {
    expect(parseWindow(text)).toBe(seconds);
  });

  it.each(["", "1", "m", "1.5m", "-1m", "1w", "1 m", "1000000s"])("refuses the malformed window %j", (text) => {
    expect(parseWindow(text)).toBeNull();
  });

  it.each([
    [1, "1s"],
    [90, "90s"],
    [60, "1m"],
    [5400, "90m"],
    [3600, "1h"],
    [86_400, "1d"],
  ])("formats %i seconds as %s", (seconds, text) => {
    expect(formatWindow(seconds)).toBe(text);
  });
});

describe("rate-limit policy validation (admin input)", () => {
  /** The VALIDATION_ERROR field paths policiesInput throws for a body, or "accepted". */
  function problems(policies: unknown): string[] | "accepted" {
    try {
      policiesInput({ policies });
      return "accepted";
    } catch (err) {
      expect(err).toBeInstanceOf(GatewayError);
      expect((err as GatewayError).code).toBe("VALIDATION_ERROR");
      return Object.keys(((err as GatewayError).details as { fields: Record<string, string> }).fields).sort();
    }
  }

  it("accepts windows from 1 second to 1 day and returns them parsed", () => {
    expect(policiesInput({ policies: [{ name: "a", limit: 1, window: "1s" }, { name: "b", limit: 1_000_000, window: "1d", mode: "shadow" }] })).toEqual([
      { name: "a", limit: 1, windowSec: 1 },
      { name: "b", limit: 1_000_000, windowSec: 86_400, mode: "shadow" },
    ]);
  });

  it("names each bad field by its position and the field the client sends", () => {
    expect(
      problems([
        { name: "Bad Name", limit: 0, window: "0s" },
        { name: "ok", limit: 1.5, window: "86401s" },
        { name: "ok", limit: 1_000_001, window: 60 },
      ]),
    ).toEqual(["policies[0].limit", "policies[0].name", "policies[0].window", "policies[1].limit", "policies[1].window", "policies[2].limit", "policies[2].name", "policies[2].window"]);
  });

  it.each([[[]], [null], ["100/1m"], [[1, 2, 3, 4, 5].map((i) => ({ name: `p${i}`, limit: 1, window: "1m" }))]])("refuses %j as the policy list", (value) => {
    expect(problems(value)).toEqual(["policies"]);
  });

  it("refuses a mode other than enforce or shadow", () => {
    expect(problems([{ name: "burst", limit: 10, window: "1m", mode: "audit" }])).toEqual(["policies[0].mode"]);
  });

  it("keeps name, limit and the parsed window of admin input, and refuses fields it does not know, naming each", () => {
    expect(policiesInput({ policies: [{ name: "burst", limit: 10, window: "1m" }] })).toEqual([{ name: "burst", limit: 10, windowSec: 60 }]);
    expect(() => policiesInput({ policies: [{ name: "burst", limit: 10, window: "1m", extra: true, windowSec: 1 }] })).toThrow(
      expect.objectContaining({ code: "VALIDATION_ERROR", details: { fields: { "policies[0].extra": expect.stringMatching(/^Unknown field/), "policies[0].windowSec": expect.stringMatching(/^Unknown field/) } } }),
    );
  });
});

describe("RATE_LIMIT_DEFAULT", () => {
  it("parses a single policy as the policy named default", () => {
    expect(parsePolicyList("100/1m")).toEqual([{ name: "default", limit: 100, windowSec: 60 }]);
  });

  it("parses several policies, each named after its window", () => {
    expect(parsePolicyList("10/1s, 100/1m,2000/1h")).toEqual([
      { name: "w1s", limit: 10, windowSec: 1 },
      { name: "w1m", limit: 100, windowSec: 60 },
      { name: "w1h", limit: 2000, windowSec: 3600 },
    ]);
  });

  it.each(["", "100", "100/", "/1m", "0/1m", "100/0s", "100/2d", "100/1m,200/60s", "1/1s,2/2s,3/3s,4/4s,5/5s"])("refuses %j", (text) => {
    expect(typeof parsePolicyList(text)).toBe("string");
  });

  it("reads the defaults, fail mode and timeout from vars with documented defaults", () => {
    expect(parseRateLimitConfig({})).toEqual({
      defaults: [{ name: "default", limit: 100, windowSec: 60 }],
      failMode: "open",
      timeoutMs: 1000,
      lease: { ttlMs: 1000, marginMs: 25, denyForMs: 1000, timeoutMs: 1000 },
    });
    expect(parseRateLimitConfig({ RATE_LIMIT_DEFAULT: "5/1s", RATE_LIMIT_FAIL_MODE: "closed", RATE_LIMIT_TIMEOUT_MS: "250", RATE_LIMIT_LEASE_MS: "500" })).toEqual({
      defaults: [{ name: "default", limit: 5, windowSec: 1 }],
      failMode: "closed",
      timeoutMs: 250,
      lease: { ttlMs: 500, marginMs: 25, denyForMs: 500, timeoutMs: 250 },
    });
  });

  it("names the bad var", () => {
    expect(configErrorField(() => parseRateLimitConfig({ RATE_LIMIT_DEFAULT: "lots" }))).toBe("RATE_LIMIT_DEFAULT");
    expect(configErrorField(() => parseRateLimitConfig({ RATE_LIMIT_DEFAULT: 100 }))).toBe("RATE_LIMIT_DEFAULT");
    expect(configErrorField(() => parseRateLimitConfig({ RATE_LIMIT_FAIL_MODE: "sometimes" }))).toBe("RATE_LIMIT_FAIL_MODE");
    expect(configErrorField(() => parseRateLimitConfig({ RATE_LIMIT_TIMEOUT_MS: "0" }))).toBe("RATE_LIMIT_TIMEOUT_MS");
    expect(configErrorField(() => parseRateLimitConfig({ RATE_LIMIT_TIMEOUT_MS: "soon" }))).toBe("RATE_LIMIT_TIMEOUT_MS");
    expect(configErrorField(() => parseRateLimitConfig({ RATE_LIMIT_LEASE_MS: "50" }))).toBe("RATE_LIMIT_LEASE_MS");
  });
});
