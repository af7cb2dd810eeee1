// Path templates against the examples of Istio's Operation.paths documentation.
import { describe, expect, it } from "vitest";
import { compilePathTemplate, isPathTemplate } from "./path-template.ts";

const matches = (template: string, path: string): boolean => {
  const re = compilePathTemplate(template);
  if (!(re instanceof RegExp)) throw new Error(re.error);
  return re.test(path);
};

describe("compilePathTemplate", () => {
  it("{*} matches one segment: /foo/{*} matches /foo/bar but not /foo/bar/baz", () => {
    expect(matches("/foo/{*}", "/foo/bar")).toBe(true);
    expect(matches("/foo/{*}", "/foo/bar/baz")).toBe(false);
    expect(matches("/foo/{*}", "/foo/")).toBe(false);
  });

  it("{**} matches any run of segments: /foo/{*}/bar/{**} matches /foo/buzz/bar/ and /foo/buzz/bar/baz", () => {
    expect(matches("/foo/{*}/bar/{**}", "/foo/buzz/bar/")).toBe(true);
    expect(matches("/foo/{*}/bar/{**}", "/foo/buzz/bar/baz")).toBe(true);
    expect(matches("/foo/{*}/bar/{**}", "/foo/buzz/bar")).toBe(false);
  });

  it("/foo/{**}/ matches /foo/bar/ and /foo// but not /foo/bar (Envoy's regex needs the trailing slash)", () => {
    expect(matches("/foo/{**}/", "/foo/bar/")).toBe(true);
    expect(matches("/foo/{**}/", "/foo//")).toBe(true);
    expect(matches("/foo/{**}/", "/foo/bar")).toBe(false);
  });

  it("refuses the invalid templates of the docs", () => {
    for (const bad of ["/*/baz/{*}", "/**/baz/{*}", "/{**}/foo/{*}", "/foo/{*}.txt", "foo/{*}"]) {
      expect(compilePathTemplate(bad)).toHaveProperty("error");
    }
  });

  it("treats regex characters in literal segments literally", () => {
    expect(matches("/a.b/{*}", "/a.b/x")).toBe(true);
    expect(matches("/a.b/{*}", "/axb/x")).toBe(false);
  });

  it("recognises templates only by {*} and {**}", () => {
    expect(isPathTemplate("/foo/*")).toBe(false);
    expect(isPathTemplate("/foo/{*}")).toBe(true);
  });
});
