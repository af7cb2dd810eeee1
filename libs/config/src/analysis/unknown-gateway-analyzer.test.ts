import { describe, expect, it } from "vitest";
import { loadResources } from "../load-resources.ts";
import { buildMeshIndex } from "./mesh-index.ts";
import { findUnknownGateways } from "./unknown-gateway-analyzer.ts";

function analyze(text: string) {
  const { resources, issues } = loadResources([{ path: "in.yaml", text }]);
  expect(issues.filter((i) => i.severity === "error")).toEqual([]);
  return findUnknownGateways(buildMeshIndex(resources));
}

const gateway = `apiVersion: networking.istio.io/v1
kind: Gateway
metadata:
  name: public
  namespace: istio-system
spec:
  selector: {istio: ingressgateway}
  servers:
  - port: {number: 80, name: http, protocol: HTTP}
    hosts: ["*"]
---
`;

const vs = (...gateways: string[]) => `apiVersion: networking.istio.io/v1
kind: VirtualService
metadata:
  name: web
spec:
  hosts:
  - web.example.com
  gateways:
${gateways.map((g) => `  - ${g}\n`).join("")}  http:
  - route:
    - destination:
        host: web
`;

describe("findUnknownGateways", () => {
  it("accepts mesh and existing gateways in any of Istio's spellings", () => {
    expect(analyze(`${gateway}${vs("mesh", "istio-system/public", "public.istio-system")}`)).toEqual([]);
  });

  it("reports a gateway looked up in the VirtualService's namespace, and says where one with that name is", () => {
    const findings = analyze(`${gateway}${vs("mesh", "public")}`);
    expect(findings).toEqual([
      expect.objectContaining({
        code: "MW0103",
        line: 21,
        column: 5,
        field: "spec.gateways[1]",
        message: 'gateway "public" does not exist (no Gateway "public" in namespace "default")',
        hint: 'a Gateway "public" exists in namespace "istio-system"; write "istio-system/public"',
      }),
    ]);
  });

  it("suggests a near name and checks gateways of matches too", () => {
    const text = `${gateway}${vs("istio-system/pubic")}  - match:\n    - gateways: [istio-system/nope]\n    route:\n    - destination:\n        host: web\n`;
    expect(analyze(text).map((f) => `${f.line} ${f.field} ${f.hint}`)).toEqual([
      '20 spec.gateways[0] did you mean "public"?',
      "26 spec.http[1].match[0].gateways[0] create Gateway istio-system/nope, or bind to an existing gateway (or mesh for the sidecars)",
    ]);
  });
});
