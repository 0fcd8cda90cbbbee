import { describe, expect, it } from "vitest";
import { parseRequestUrl, type RequestUrl } from "../../src/http/request-url";
import { rng } from "../support/rng";

/** Everything a step reads of the request URL, as plain values. */
function parts(url: RequestUrl) {
  return {
    href: url.href,
    origin: url.origin,
    protocol: url.protocol,
    host: url.host,
    pathname: url.pathname,
    search: url.search,
    query: [...url.searchParams.entries()],
  };
}

/** The URL parser's answer, or the fact that it threw. */
function parsed(href: string, parse: (href: string) => RequestUrl): ReturnType<typeof parts> | "throws" {
  try {
    return parts(parse(href));
  } catch {
    return "throws";
  }
}

const SCHEMES = ["https:", "http:", "HTTPS:", "ftp:"];
const HOSTS = [
  "gateway.example",
  "api.one-stack.example",
  "localhost",
  "Gateway.Example",
  "127.0.0.1",
  "10.0.0.255",
  "127.1",
  "0x7f.0.0.1",
  "010.0.0.1",
  "256.0.0.1",
  "1.2.3.4.5",
  "a.1",
  "[::1]",
  "xn--bcher-kva.example",
  "xn--zz.example",
  "a..b",
  "example.com.",
  "-a.example",
  "exa_mple.example",
  "u:p@gateway.example",
  "gäteway.example",
];
const PORTS = ["", "", ":8787", ":80", ":443", ":08080", ":0", ":65535", ":65536", ":99999"];
const SEGMENTS = ["psa", "tickets", "42", "", ".", "..", "%2e", "%2E%2e", ".hidden", "a.b", "~x", "A-Z_9", "a b", "é", "a:b", "@", "\\", "%41", "x;y", "'q'"];
const QUERIES = ["", "", "?", "?page=2", "?a=1&b=2&a=3", "?api_key=x&_method=PUT", "?q=%zz", "?q='x'", "?q=<b>", "?q=a b", "?q=é", "?a=b?c=/d", "?x=1;y=2", "?e=%20"];
const FRAGMENTS = ["", "", "", "#top", "#"];

function tryParse(href: string): RequestUrl | null {
  try {
    return parseRequestUrl(href);
  } catch {
    return null;
  }
}

/** Each part from its first `plain` entries (what a request usually has) most of the time, else from all of them. */
function randomHref(random: () => number): string {
  const pick = <T>(xs: readonly T[], plain: number): T => xs[Math.floor(random() * (random() < 0.8 ? plain : xs.length))] as T;
  const segments = Array.from({ length: Math.floor(random() * 5) }, () => pick(SEGMENTS, 3));
  return `${pick(SCHEMES, 2)}//${pick(HOSTS, 6)}${pick(PORTS, 3)}/${segments.join("/")}${pick(QUERIES, 6)}${pick(FRAGMENTS, 3)}`;
}

describe("parseRequestUrl", () => {
  it("reads every href exactly as the URL parser does, or throws where it throws (4,000 seeded hrefs)", () => {
    const random = rng(2112);
    let split = 0;
    for (let i = 0; i < 4000; i++) {
      const href = randomHref(random);
      expect(parsed(href, parseRequestUrl), href).toEqual(parsed(href, (h) => new URL(h)));
      const url = tryParse(href);
      if (url !== null && !(url instanceof URL)) split++;
    }
    // The comparison covers the string split itself, not only the fallback.
    expect(split).toBeGreaterThan(400);
  });

  it("splits an href in the runtime's own form without making a URL object", () => {
    for (const href of ["https://gateway.example/psa/tickets", "https://gateway.example/psa/tickets/42?page=2&sort=-created", "http://127.0.0.1:8787/psa/tickets", "https://api.one-stack.example/"]) {
      const url = parseRequestUrl(href);
      expect(url, href).not.toBeInstanceOf(URL);
      expect(parts(url)).toEqual(parts(new URL(href)));
    }
  });

  it("leaves to the URL parser what it would rewrite: a default port, dot segments, encoded dots, an address in another spelling", () => {
    for (const href of ["https://gateway.example:443/psa", "https://gateway.example/psa/../admin", "https://gateway.example/psa/%2e%2e/admin", "http://127.1/psa", "https://Gateway.example/psa"]) {
      const url = parseRequestUrl(href);
      expect(url, href).toBeInstanceOf(URL);
    }
  });
});
