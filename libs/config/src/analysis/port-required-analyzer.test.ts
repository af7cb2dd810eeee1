import { describe, expect, it } from "vitest";
import { loadResources } from "../load-resources.ts";
import type { MeshCatalog } from "./analyze-resources.ts";
import { buildMeshIndex } from "./mesh-index.ts";
import { findMissingPorts } from "./port-required-analyzer.ts";

function analyze(text: string, catalog?: MeshCatalog) {
  const { resources, issues } = loadResources([{ path: "in.yaml", text }]);
  expect(issues.filter((i) => i.severity === "error")).toEqual([]);
  return findMissingPorts(buildMeshIndex(resources, { catalog }));
}

const catalog: MeshCatalog = {
  services: [
    { name: "api", namespace: "default", ports: [{ number: 8080, name: "http" }, { number: 9090, name: "grpc" }] },
    { name: "web", namespace: "default", ports: [{ number: 8080, name: "http" }] },
  ],
};

const vs = (host: string, gateways: string) => `apiVersion: networking.istio.io/v1
kind: VirtualService
metadata:
  name: edge
spec:
  hosts: [shop.example.com]
  gateways: ${gateways}
  http:
  - route:
    - destination:
        host: ${host}
`;

describe("findMissingPorts", () => {
  it("warns when a gateway route to a multi-port service names no port", () => {
    expect(analyze(vs("api", "[istio-system/public]"), catalog)).toEqual([
      expect.objectContaining({
        code: "MW0121",
        severity: "warning",
        line: 11,
        field: "spec.http[0].route[0].destination.host",
        message:
          'service "api.default.svc.cluster.local" exposes several ports (8080 (http), 9090 (grpc)) and the destination names none; on a gateway the listener\'s port is used',
      }),
    ]);
  });

  it("accepts single-port services and sidecar-only VirtualServices", () => {
    expect(analyze(vs("web", "[istio-system/public]"), catalog)).toEqual([]);
    expect(analyze(vs("api", "[mesh]"), catalog)).toEqual([]);
  });
});
