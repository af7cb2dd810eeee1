import { describe, expect, it } from "vitest";
import { compileRe2, compileStringMatch, testString } from "./compile-string-match.ts";

describe("compileStringMatch", () => {
  it("matches exact, prefix, regex and presence as Istio documents them", () => {
    expect(testString(compileStringMatch({ exact: "/a" }), "/a")).toBe(true);
    expect(testString(compileStringMatch({ exact: "/a" }), "/ab")).toBe(false);
    expect(testString(compileStringMatch({ prefix: "/a" }), "/ab")).toBe(true);
    expect(testString(compileStringMatch({ prefix: "/a" }), "/b")).toBe(false);
    expect(testString(compileStringMatch({}), "")).toBe(true);
    expect(testString(compileStringMatch({}), undefined)).toBe(false);
  });

  it("requires a regex to match the whole value (Envoy safe_regex full match)", () => {
    const m = compileStringMatch({ regex: "/v[0-9]+" });
    expect(testString(m, "/v12")).toBe(true);
    expect(testString(m, "/v12/x")).toBe(false);
    expect(testString(m, "x/v12")).toBe(false);
  });

  it("ignores case for exact, prefix and regex when asked (ignoreUriCase)", () => {
    expect(testString(compileStringMatch({ exact: "/Login" }, true), "/LOGIN")).toBe(true);
    expect(testString(compileStringMatch({ prefix: "/API" }, true), "/api/x")).toBe(true);
    expect(testString(compileStringMatch({ regex: "/a+" }, true), "/AAA")).toBe(true);
    expect(testString(compileStringMatch({ exact: "/Login" }), "/login")).toBe(false);
  });
});

describe("compileRe2", () => {
  it("translates (?i), (?P<name>), POSIX classes and \\A \\z", () => {
    expect(compileRe2("(?i)abc", { anchored: true }).test("ABC")).toBe(true);
    expect(compileRe2("(?P<id>[[:digit:]]+)", { anchored: true }).exec("123")?.groups?.["id"]).toBe("123");
    expect(compileRe2("[[:alpha:]]+", { anchored: true }).test("ab1")).toBe(false);
    expect(compileRe2("\\Afoo\\z", { anchored: false }).test("foo")).toBe(true);
  });
});
