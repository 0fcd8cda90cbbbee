import { describe, expect, it } from "vitest";
import { memoizedByName, remember } from "../../src/shared/bounded-map";

describe("remember", () => {
  it("drops the oldest entry when the map is full, and moves a re-remembered key to the back", () => {
    const map = new Map<string, number>();
    remember(map, 2, "a", 1);
    remember(map, 2, "b", 2);
    remember(map, 2, "a", 3);
    remember(map, 2, "c", 4);
    expect([...map]).toEqual([["a", 3], ["c", 4]]);
  });
});

describe("memoizedByName", () => {
  it("decides each name once and answers again from memory", () => {
    const asked: string[] = [];
    const decide = memoizedByName((name) => (asked.push(name), name.startsWith("x-")));
    expect([decide("x-a"), decide("etag"), decide("x-a"), decide("etag")]).toEqual([true, false, true, false]);
    expect(asked).toEqual(["x-a", "etag"]);
  });

  it("keeps at most `max` names, so names a client makes up cannot fill the isolate", () => {
    const asked: string[] = [];
    const decide = memoizedByName((name) => (asked.push(name), false), 2);
    for (const name of ["a", "b", "c", "a"]) decide(name);
    // "a" was the oldest when "c" came, so it is decided again.
    expect(asked).toEqual(["a", "b", "c", "a"]);
  });
});
