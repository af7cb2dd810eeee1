import { describe, expect, it } from "vitest";
import { formatPath } from "../check-value.ts";
import { exportToIssues, type ExportToOptions } from "./export-to.ts";

const lines = (exportTo: string[] | undefined, options: ExportToOptions) =>
  exportToIssues(exportTo, ["spec", "exportTo"], options).map((i) => `${formatPath(i.path)}: ${i.message}`);

describe("exportToIssues", () => {
  it("accepts ., *, namespace names and nothing at all", () => {
    expect(lines([".", "prod"], { namespace: "default" })).toEqual([]);
    expect(lines(["*"], { namespace: "default" })).toEqual([]);
    expect(lines(undefined, { namespace: "default" })).toEqual([]);
  });

  it("rejects duplicates, including . beside the own namespace, at the later entry", () => {
    expect(lines(["prod", "prod"], { namespace: "default" })).toEqual(['spec.exportTo[1]: "prod" is listed twice']);
    expect(lines([".", "default"], { namespace: "default" })).toEqual(['spec.exportTo[1]: "default" and "." both name namespace "default"']);
  });

  it("allows ~ only where allowNone says so, and never beside other entries", () => {
    expect(lines(["~"], { namespace: "default" })).toEqual(['spec.exportTo[0]: "~" (export to no one) is only allowed on ServiceEntry']);
    expect(lines(["~"], { namespace: "default", allowNone: true })).toEqual([]);
    expect(lines(["prod", "~"], { namespace: "default", allowNone: true })).toEqual(['spec.exportTo[1]: "~" exports to no one; it cannot be combined with other entries']);
  });

  it("rejects names that are not namespaces and * beside other entries", () => {
    expect(lines(["Prod_1", "*"], { namespace: "default" })).toEqual([
      'spec.exportTo[0]: "Prod_1" is not ".", "*" or a namespace name',
      'spec.exportTo[1]: "*" exports to every namespace; other entries make no sense beside it',
    ]);
  });

  it("keeps a resource with a workload selector in its own namespace", () => {
    expect(lines(["."], { namespace: "default", hasWorkloadSelector: true })).toEqual([]);
    expect(lines(["default"], { namespace: "default", hasWorkloadSelector: true })).toEqual([]);
    expect(lines(["istio-system"], { namespace: "default", hasWorkloadSelector: true })).toEqual([
      'spec.exportTo[0]: a DestinationRule with a workloadSelector cannot be exported beyond its own namespace, but exportTo has "istio-system"',
    ]);
  });
});
