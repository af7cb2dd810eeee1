import { describe, expect, it } from "vitest";
import { compileGoRegexp } from "./compile-go-regexp.ts";

function groups(source: string, input: string): (string | undefined)[] | null {
  const compiled = compileGoRegexp(source);
  if (!compiled.ok) throw new Error(compiled.message);
  const match = compiled.regexp.exec(input);
  return match === null ? null : [...match];
}

describe("compileGoRegexp", () => {
  it("matches unanchored like Go's FindStringSubmatch, lazy groups included (Consul's template example)", () => {
    expect(groups("^geo-db-(.*?)-([^\\-]+?)$", "geo-db-customer-primary")).toEqual(["geo-db-customer-primary", "customer", "primary"]);
    expect(groups("db", "my-db-1")).toEqual(["db"]);
    expect(groups("^x$", "y")).toBeNull();
  });

  it("translates what Go writes differently: (?P<name>), leading flags, \\A and \\z, ] first in a class", () => {
    expect(compileGoRegexp("(?P<svc>[a-z]+)-v\\d").ok && groups("(?P<svc>[a-z]+)-v\\d", "web-v2")).toEqual(["web-v2", "web"]);
    expect(groups("(?i)^WEB$", "web")).toEqual(["web"]);
    expect(groups("\\Aweb\\z", "web")).toEqual(["web"]);
    expect(groups("\\Aweb\\z", "web\n")).toBeNull();
    expect(groups("[]a]+", "a]a")).toEqual(["a]a"]);
    expect(groups("[^]]+", "ab]")).toEqual(["ab"]);
  });

  it("refuses what RE2 has not or JavaScript would read differently, naming it", () => {
    expect(compileGoRegexp("(a)\\1")).toMatchObject({ ok: false, message: expect.stringContaining("no backreferences") });
    expect(compileGoRegexp("a(?=b)")).toMatchObject({ ok: false, message: expect.stringContaining("invalid or unsupported Perl syntax") });
    expect(compileGoRegexp("a(?i)b")).toMatchObject({ ok: false, message: expect.stringContaining("invalid or unsupported Perl syntax") });
    expect(compileGoRegexp("[[:alpha:]]")).toMatchObject({ ok: false, message: expect.stringContaining("POSIX classes") });
    expect(compileGoRegexp("\\pL")).toMatchObject({ ok: false, message: expect.stringContaining("not supported") });
    expect(compileGoRegexp("(?U)a+")).toMatchObject({ ok: false, message: expect.stringContaining('flag "U"') });
    expect(compileGoRegexp("(abc")).toEqual({ ok: false, message: "error parsing regexp: /(abc/: Unterminated group: `(abc`" });
    expect(compileGoRegexp("abc\\")).toMatchObject({ ok: false, message: expect.stringContaining("trailing backslash") });
  });
});
