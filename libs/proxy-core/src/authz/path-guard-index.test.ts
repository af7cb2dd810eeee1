// PathGuardIndex marks exactly the rules whose guard is a prefix of the request's path (before "?").
import { describe, expect, it } from "vitest";
import { RequestView, type RuleMatcher } from "./compile-rule.ts";
import { PathGuardIndex } from "./path-guard-index.ts";

const rule = (pathGuard: string[] | undefined): RuleMatcher => ({ pathGuard, permissions: [[]], principals: [[]] });

describe("PathGuardIndex", () => {
  const index = new PathGuardIndex([rule(["/api/v1/", "/static/"]), rule(["/api/v10/"]), rule(undefined), undefined, rule(["/"]), rule(["/api/v1/items"])]);
  const view = new RequestView("none");
  const passing = (path: string | undefined): number[] => {
    view.reset(path === undefined ? {} : { path });
    return [0, 1, 2, 3, 4, 5].filter((i) => index.passes(i, view));
  };

  it("marks every rule whose guard prefixes the path, and only those", () => {
    expect(passing("/api/v1/items?x=1")).toEqual([0, 4, 5]);
    expect(passing("/api/v10/x")).toEqual([1, 4]);
    expect(passing("/static/logo.png")).toEqual([0, 4]);
    expect(passing("/api/v1")).toEqual([4]);
  });

  it("ignores the query and marks nothing without a path", () => {
    expect(passing("/x?/api/v1/")).toEqual([4]);
    expect(passing(undefined)).toEqual([]);
  });

  it("re-marks for each request (generation), never reusing a previous request's marks", () => {
    expect(passing("/api/v1/a")).toEqual([0, 4]);
    expect(passing("/other")).toEqual([4]);
  });

  it("reports whether any rule has a guard", () => {
    expect(index.isUseful).toBe(true);
    expect(new PathGuardIndex([rule(undefined)]).isUseful).toBe(false);
  });
});
