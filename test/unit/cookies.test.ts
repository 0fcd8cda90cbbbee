import { describe, expect, it } from "vitest";
import { findSessionCookie, withoutCookie } from "../../src/http/cookies";

const JWT = "eyJhbGciOiJFUzI1NiJ9.eyJzdWIiOiJ4In0.c2ln";
const OTHERS = 'filter=status=open,priority=high; theme="a, b=c"';

describe("findSessionCookie", () => {
  it("finds the session cookie's value among other cookies", () => {
    expect(findSessionCookie(`theme=dark; os_session=${JWT}; lang=en`, "os_session")).toEqual({ values: [JWT], smuggled: false });
  });

  it("finds nothing in cookies whose names merely contain the session cookie's", () => {
    expect(findSessionCookie(`xos_session=${JWT}; os_session_old=${JWT}`, "os_session")).toEqual({ values: [], smuggled: false });
  });

  it("finds nothing in commas and equals signs inside other cookies' values", () => {
    expect(findSessionCookie(OTHERS, "os_session")).toEqual({ values: [], smuggled: false });
  });

  it("counts a session cookie behind the comma of a repeated Cookie header as smuggled", () => {
    expect(findSessionCookie(`theme=dark, os_session=${JWT}`, "os_session").smuggled).toBe(true);
  });

  it("counts a second session cookie behind the comma of the first one's pair as smuggled", () => {
    expect(findSessionCookie(`os_session=${JWT}, os_session=${JWT}`, "os_session").smuggled).toBe(true);
  });

  it.each(["OS_SESSION", "os.session", "os%5Fsession", "os_session[]", "os session", "os-session"])(
    "counts %s, which some framework reads as the session cookie, as smuggled",
    (name) => {
      expect(findSessionCookie(`${name}=${JWT}`, "os_session")).toEqual({ values: [], smuggled: true });
    },
  );
});

describe("withoutCookie", () => {
  it("returns a header without the session cookie byte for byte", () => {
    expect(withoutCookie(OTHERS, "os_session")).toBe(OTHERS);
  });

  it.each([
    [`os_session=${JWT}; ${OTHERS}`],
    [`filter=status=open,priority=high; os_session=${JWT}; theme="a, b=c"`],
    [`${OTHERS}; os_session=${JWT}`],
  ])("removes only the session cookie's pair from %s", (header) => {
    expect(withoutCookie(header, "os_session")).toBe(OTHERS);
  });

  it("leaves nothing when only the session cookie was sent", () => {
    expect(withoutCookie("os_session=abc", "os_session")).toBe("");
  });

  it("removes a pair that carries the session cookie behind a comma", () => {
    expect(withoutCookie(`lang=en; theme=dark, os_session=${JWT}`, "os_session")).toBe("lang=en");
  });

  it("removes a look-alike of the session cookie", () => {
    expect(withoutCookie(`lang=en; os.session=${JWT}`, "os_session")).toBe("lang=en");
  });
});
