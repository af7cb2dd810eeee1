import { describe, expect, it } from "vitest";
import { loadResources } from "../load-resources.ts";
import { findDuplicateHosts } from "./duplicate-host-analyzer.ts";
import { buildMeshIndex } from "./mesh-index.ts";

function analyze(text: string) {
  const { resources, issues } = loadResources([{ path: "in.yaml", text }]);
  expect(issues.filter((i) => i.severity === "error")).toEqual([]);
  return findDuplicateHosts(buildMeshIndex(resources));
}

const vs = (name: string, host: string, extra = "") => `apiVersion: networking.istio.io/v1
kind: VirtualService
metadata:
  name: ${name}
spec:
  hosts:
  - ${host}
${extra}  http:
  - route:
    - destination:
        host: reviews
---
`;

describe("findDuplicateHosts", () => {
  it("reports two sidecar VirtualServices for the same host, short or full name, on each", () => {
    const findings = analyze(vs("a", "reviews") + vs("b", "reviews.default.svc.cluster.local"));
    expect(findings.map((f) => `${f.line} ${f.severity} ${f.resource?.name} ${f.message}`)).toEqual([
      '7 error a host "reviews.default.svc.cluster.local" on the sidecars (mesh) is also claimed by VirtualService default/b; Istio applies only one of them',
      '19 error b host "reviews.default.svc.cluster.local" on the sidecars (mesh) is also claimed by VirtualService default/a; Istio applies only one of them',
    ]);
  });

  it("accepts the same short name in different namespaces, and VirtualServices visible in disjoint namespaces", () => {
    expect(analyze(vs("a", "reviews") + vs("b", "reviews").replace("name: b", "name: b\n  namespace: other"))).toEqual([]);
    const exported = (ns: string) => `  exportTo: ["${ns}"]\n`;
    expect(analyze(vs("a", "reviews.default.svc.cluster.local", exported(".")) + vs("b", "reviews.default.svc.cluster.local", exported("web")).replace("name: b", "name: b\n  namespace: web"))).toEqual([]);
  });

  it("warns when two VirtualServices on one gateway claim a host, and ignores different gateways", () => {
    const gw = (g: string) => `  gateways: [${g}]\n`;
    expect(analyze(vs("a", "shop.example.com", gw("istio-system/public")) + vs("b", "shop.example.com", gw("istio-system/public"))).map((f) => f.severity)).toEqual(["warning", "warning"]);
    expect(analyze(vs("a", "shop.example.com", gw("istio-system/public")) + vs("b", "shop.example.com", gw("istio-system/internal")))).toEqual([]);
    expect(analyze(vs("a", "shop.example.com", gw("mesh")) + vs("b", "shop.example.com"))).toHaveLength(2);
  });

  it("skips delegates", () => {
    const root = `apiVersion: networking.istio.io/v1
kind: VirtualService
metadata:
  name: root
spec:
  hosts: [reviews]
  http:
  - delegate: {name: part}
---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata:
  name: part
spec:
  http:
  - route:
    - destination: {host: reviews}
`;
    expect(analyze(root)).toEqual([]);
  });
});
