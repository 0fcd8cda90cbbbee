/**
 * The client address a failure budget is counted against: an IPv4 address as it is, an IPv6 address by its
 * /64 (one subscriber's network: a client with a /64 has 2^64 addresses to rotate through).
 */
import { describe, expect, it } from "vitest";
import { lookupAddress } from "../../src/security/address-limit";

const budgetOf = (address: string | null) => lookupAddress(new Headers(address === null ? {} : { "cf-connecting-ip": address }));

describe("lookupAddress", () => {
  it("counts an IPv4 address as itself", () => {
    expect(budgetOf("203.0.113.7")).toBe("203.0.113.7");
    expect(budgetOf("203.0.113.8")).not.toBe(budgetOf("203.0.113.7"));
  });

  it("counts every address of one IPv6 /64 against one budget, however it is written", () => {
    const budget = budgetOf("2001:db8:1:2::1");
    for (const same of ["2001:db8:1:2::2", "2001:db8:1:2:ffff:ffff:ffff:ffff", "2001:0DB8:0001:0002:0:0:0:9", "2001:db8:1:2:a:b:c:d", "2001:db8:1:2::"]) {
      expect(budgetOf(same)).toBe(budget);
    }
    expect(budget).toBe("2001:db8:1:2::/64");
  });

  it("gives another /64 a budget of its own, the neighbouring one included", () => {
    const budget = budgetOf("2001:db8:1:2::1");
    for (const other of ["2001:db8:1:3::1", "2001:db8:1::1", "2001:db9:1:2::1", "::1"]) expect(budgetOf(other)).not.toBe(budget);
  });

  it("counts an IPv4-mapped IPv6 address as its IPv4 address", () => {
    expect(budgetOf("::ffff:203.0.113.7")).toBe("203.0.113.7");
  });

  it("gives requests without an address, or with one that is not an address, one shared budget each way", () => {
    expect(budgetOf(null)).toBe("no-client-address");
    expect(budgetOf("not an address")).toBe("unparsed:not an address");
    expect(budgetOf("2001:db8::1::2")).toBe("unparsed:2001:db8::1::2");
  });
});
