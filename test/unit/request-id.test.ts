import { describe, expect, it } from "vitest";
import { resolveRequestId } from "../../src/http/request-id";

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

describe("resolveRequestId", () => {
  it.each(["req-12345678", "0f3c9a1e-2b7d-4c55-9e1a-7d2f8b6c4a10", "trace:abc.def_123"])("keeps a safe id %s", (id) => {
    expect(resolveRequestId(id)).toBe(id);
  });

  it.each([
    ["missing", undefined],
    ["too short", "abc"],
    ["too long", "a".repeat(129)],
    ["CRLF", "req-1234\r\nX-Evil: 1"],
    ["quote", 'req-1234"5678'],
    ["markup", "<script>alert(1)</script>"],
    ["space", "req 12345678"],
  ])("replaces an unsafe id (%s) with a fresh UUID", (_name, id) => {
    expect(resolveRequestId(id)).toMatch(UUID);
  });
});
