import { describe, expect, it } from "vitest";
import { loadResources } from "../load-resources.ts";
import { buildMeshIndex } from "./mesh-index.ts";
import { findWeightsNotHundred } from "./weights-not-hundred-analyzer.ts";

function analyze(text: string) {
  const { resources, issues } = loadResources([{ path: "in.yaml", text }]);
  expect(issues.filter((i) => i.severity === "error")).toEqual([]);
  return findWeightsNotHundred(buildMeshIndex(resources));
}

const split = (...weights: (number | undefined)[]) => `apiVersion: networking.istio.io/v1
kind: VirtualService
metadata:
  name: reviews
spec:
  hosts:
  - reviews
  http:
  - route:
${weights.map((w, i) => `    - destination:\n        host: reviews\n        subset: v${i + 1}\n${w === undefined ? "" : `      weight: ${w}\n`}`).join("")}`;

describe("findWeightsNotHundred", () => {
  it("accepts weights adding up to 100, and a lone destination without weight", () => {
    expect(analyze(split(80, 20))).toEqual([]);
    expect(analyze(split(50, 25, 25))).toEqual([]);
    expect(analyze(split(undefined))).toEqual([]);
    expect(analyze(split(100))).toEqual([]);
  });

  it("reports weights that do not add up to 100 with the shares they really give", () => {
    expect(analyze(split(60, 60))).toEqual([
      expect.objectContaining({
        code: "MW0104",
        severity: "warning",
        line: 10,
        field: "spec.http[0].route",
        message: 'weights add up to 120, not 100; as relative shares they send "reviews" subset "v1" 50%, "reviews" subset "v2" 50%',
      }),
    ]);
    expect(analyze(split(70, 20, undefined))[0]?.message).toContain("weights add up to 90, not 100");
    expect(analyze(split(10, 20))[0]?.message).toContain('"reviews" subset "v1" 33.3%, "reviews" subset "v2" 66.7%');
  });

  it("reports a lone destination whose weight suggests it gets only part of the traffic", () => {
    expect(analyze(split(50)).map((f) => `${f.line} ${f.field} ${f.message}`)).toEqual([
      '13 spec.http[0].route[0].weight the only destination has weight 50, but a lone destination receives all traffic',
    ]);
  });

  it("checks TCP routes too", () => {
    const tcp = `apiVersion: networking.istio.io/v1
kind: VirtualService
metadata:
  name: db
spec:
  hosts: [db]
  tcp:
  - route:
    - destination: {host: db, subset: a, port: {number: 5432}}
      weight: 90
    - destination: {host: db, subset: b, port: {number: 5432}}
      weight: 20
`;
    expect(analyze(tcp).map((f) => f.field)).toEqual(["spec.tcp[0].route"]);
  });
});
