import { describe, expect, it } from "vitest";
import { loadResources } from "../load-resources.ts";
import { findConflictingGateways } from "./conflicting-gateway-analyzer.ts";
import { buildMeshIndex } from "./mesh-index.ts";

function analyze(text: string) {
  const { resources, issues } = loadResources([{ path: "in.yaml", text }]);
  expect(issues.filter((i) => i.severity === "error")).toEqual([]);
  return findConflictingGateways(buildMeshIndex(resources));
}

const gateway = (name: string, host: string, port = 443, selector = "{istio: ingressgateway}") => `apiVersion: networking.istio.io/v1
kind: Gateway
metadata:
  name: ${name}
  namespace: istio-system
spec:
  selector: ${selector}
  servers:
  - port: {number: ${port}, name: https-${name}, protocol: HTTPS}
    hosts:
    - ${host}
    tls: {mode: SIMPLE, credentialName: ${name}-cert}
---
`;

describe("findConflictingGateways", () => {
  it("warns on both gateways opening the same host and port for the same pods", () => {
    expect(analyze(gateway("shop", "shop.example.com") + gateway("shop-v2", "shop.example.com")).map((f) => `${f.line} ${f.severity} ${f.message}`)).toEqual([
      '11 warning host "shop.example.com" on port 443 is also opened by Gateway istio-system/shop-v2 for the same gateway pods (selector {istio: ingressgateway})',
      '24 warning host "shop.example.com" on port 443 is also opened by Gateway istio-system/shop for the same gateway pods (selector {istio: ingressgateway})',
    ]);
  });

  it("accepts different hosts, ports or gateway pods", () => {
    expect(analyze(gateway("shop", "shop.example.com") + gateway("blog", "blog.example.com"))).toEqual([]);
    expect(analyze(gateway("shop", "shop.example.com") + gateway("shop-alt", "shop.example.com", 8443))).toEqual([]);
    expect(analyze(gateway("shop", "shop.example.com") + gateway("shop-int", "shop.example.com", 443, "{istio: internal}"))).toEqual([]);
  });
});
