import { describe, expect, it } from "vitest";
import { loadResources } from "../load-resources.ts";
import { findGatewayHostMismatches } from "./gateway-host-mismatch-analyzer.ts";
import { buildMeshIndex } from "./mesh-index.ts";

function analyze(text: string) {
  const { resources, issues } = loadResources([{ path: "in.yaml", text }]);
  expect(issues.filter((i) => i.severity === "error")).toEqual([]);
  return findGatewayHostMismatches(buildMeshIndex(resources));
}

const gateway = (...hosts: string[]) => `apiVersion: networking.istio.io/v1
kind: Gateway
metadata:
  name: public
  namespace: istio-system
spec:
  selector: {istio: ingressgateway}
  servers:
  - port: {number: 80, name: http, protocol: HTTP}
    hosts: [${hosts.map((h) => `"${h}"`).join(", ")}]
---
`;

const vs = (host: string) => `apiVersion: networking.istio.io/v1
kind: VirtualService
metadata:
  name: shop
  namespace: web
spec:
  hosts: ["${host}"]
  gateways: [istio-system/public]
  http:
  - route:
    - destination: {host: shop}
`;

describe("findGatewayHostMismatches", () => {
  it("accepts a host the gateway exposes, exactly or by wildcard", () => {
    expect(analyze(gateway("shop.example.com") + vs("shop.example.com"))).toEqual([]);
    expect(analyze(gateway("*.example.com") + vs("shop.example.com"))).toEqual([]);
    expect(analyze(gateway("*") + vs("shop.example.com"))).toEqual([]);
    expect(analyze(gateway("web/*.example.com") + vs("shop.example.com"))).toEqual([]);
  });

  it("warns when the gateway exposes none of the hosts to the VirtualService's namespace", () => {
    expect(analyze(gateway("blog.example.com") + vs("shop.example.com"))).toEqual([
      expect.objectContaining({
        code: "MW0116",
        severity: "warning",
        line: 19,
        field: "spec.gateways[0]",
        message: 'gateway "istio-system/public" exposes "blog.example.com" to namespace "web", none of the hosts "shop.example.com"; the gateway ignores these routes',
      }),
    ]);
    expect(analyze(gateway("./shop.example.com", "other/*") + vs("shop.example.com")).map((f) => f.message)).toEqual([
      'gateway "istio-system/public" exposes no host to namespace "web", none of the hosts "shop.example.com"; the gateway ignores these routes',
    ]);
  });
});
