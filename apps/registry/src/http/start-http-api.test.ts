import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { parseTarget } from "./start-http-api.ts";

/** The WHATWG URL parser's view of an origin-form request target. */
function viaUrl(target: string): { pathname: string; query: [string, string][] } {
  const url = new URL(`http://registry${target}`);
  return { pathname: url.pathname, query: [...url.searchParams] };
}

function parsed(target: string): { pathname: string; query: [string, string][] } {
  const { pathname, query } = parseTarget(target);
  return { pathname, query: [...query] };
}

describe("parseTarget", () => {
  it("gives the path and query the URL parser gives", () => {
    for (const target of [
      "/v1/kv/k0000001",
      "/v1/kv/a/b?recurse",
      "/v1/kv/a%2Fb?cas=3&flags=7",
      "/v1/kv/x?acquire=abc-def&pretty",
      "/v1/kv/a+b?q=a+b%20c",
      "/v1/health/service/web?passing&tag=v1&index=12&wait=5s",
      "/v1/kv/",
      "/",
      "/v1/kv/a/../b",
      "/v1/kv/a/./b",
      "/v1/kv/a/%2e%2E/b",
      "/v1/kv/.hidden",
      "/v1/kv/a b",
      "/v1/kv/a\\b",
      "/v1/kv/é?x=é",
      '/v1/kv/a"b?x="y"',
      "/v1/kv/a?x=1#frag",
      "/v1/kv/a?x=%zz",
      "/v1/kv/{a}<b>`c`",
      "//v1/kv/a",
    ]) {
      expect(parsed(target), target).toEqual(viaUrl(target));
    }
  });

  it("reads a path starting with // as a path, not as a host", () => {
    expect(parsed("//v1/kv/a")).toEqual({ pathname: "//v1/kv/a", query: [] });
    expect(parsed("//")).toEqual({ pathname: "//", query: [] });
    expect(parsed("// x")).toEqual({ pathname: "//%20x", query: [] });
  });

  it("gives a target the URL parser refuses back as it is", () => {
    expect(parsed("http://[bad")).toEqual({ pathname: "http://[bad", query: [] });
  });

  it("agrees with the URL parser on any request target", () => {
    const chars = fc.constantFrom(..."abcAZ09-._~!$&'()*+,;=:@/%2eE?#=& \"<>`{}\\é|^".split(""));
    fc.assert(
      fc.property(fc.array(chars, { maxLength: 30 }), (parts) => {
        const target = `/${parts.join("")}`;
        expect(parsed(target)).toEqual(viaUrl(target));
      }),
      { numRuns: 2000 },
    );
  });
});
