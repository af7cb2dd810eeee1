import { describe, expect, it } from "vitest";
import { formatPath } from "../check-value.ts";
import type { FieldIssue } from "../field-issue.ts";
import { labelIssues, selectorIssues } from "./labels.ts";

const lines = (issues: FieldIssue[]) => issues.map((i) => `${i.severity ?? "error"} ${formatPath(i.path)}: ${i.message}`);

describe("labelIssues", () => {
  it("accepts [prefix/]name keys and empty values, and rejects bad keys and values", () => {
    expect(labelIssues({ "app.kubernetes.io/name": "reviews", version: "", "a_b.c-d": "x.y_z" }, ["labels"])).toEqual([]);
    expect(labelIssues(undefined, ["labels"])).toEqual([]);
    expect(lines(labelIssues({ "app/": "x", "-app": "ok", tier: "front end" }, ["labels"]))).toEqual([
      'error labels["app/"]: label key "app/" is not a valid label name',
      'error labels["-app"]: label key "-app" is not a valid label name',
      'error labels.tier: label value "front end" is not valid',
    ]);
  });
});

describe("selectorIssues", () => {
  it("checks nothing when the selector is unset, and warns at the selector when it has no labels", () => {
    expect(selectorIssues(undefined, ["spec", "selector"], { labelsField: "matchLabels" })).toEqual([]);
    expect(lines(selectorIssues({}, ["spec", "workloadSelector"], { labelsField: "labels" }))).toEqual([
      "warning spec.workloadSelector: the selector has no labels, so it selects every workload in the namespace",
    ]);
  });

  it("rejects empty keys and wildcards at the label, worded for a policy or a networking selector", () => {
    const labels = { "": "a", app: "web-*" };
    expect(lines(selectorIssues({ matchLabels: labels }, ["spec", "selector"], { labelsField: "matchLabels", policy: true }))).toEqual([
      'error spec.selector.matchLabels[""]: a label key is empty',
      'error spec.selector.matchLabels.app: wildcards are not supported in selectors: "app=web-*"',
    ]);
    expect(lines(selectorIssues({ labels }, ["spec", "workloadSelector"], { labelsField: "labels" }))).toEqual([
      'error spec.workloadSelector.labels[""]: a label key is empty',
      'error spec.workloadSelector.labels.app: wildcards are not supported in selectors: "app: web-*"',
    ]);
  });
});
