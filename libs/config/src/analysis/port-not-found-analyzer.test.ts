import { describe, expect, it } from "vitest";
import { loadResources } from "../load-resources.ts";
import type { MeshCatalog } from "./analyze-resources.ts";
import { buildMeshIndex } from "./mesh-index.ts";
import { findUnknownPorts } from "./port-not-found-analyzer.ts";

function analyze(text: string, catalog?: MeshCatalog) {
  const { resources, issues } = loadResources([{ path: "in.yaml", text }]);
  expect(issues.filter((i) => i.severity === "error")).toEqual([]);
  return findUnknownPorts(buildMeshIndex(resources, { catalog }));
}

const catalog: MeshCatalog = { services: [{ name: "reviews", namespace: "default", ports: [{ number: 9080, name: "http" }] }, { name: "unknown-ports", namespace: "default" }] };

const vs = (host: string, port: number) => `apiVersion: networking.istio.io/v1
kind: VirtualService
metadata:
  name: web
spec:
  hosts: [web]
  http:
  - route:
    - destination:
        host: ${host}
        port:
          number: ${port}
`;

describe("findUnknownPorts", () => {
  it("accepts a port of the catalog service, and services whose ports are unknown", () => {
    expect(analyze(vs("reviews", 9080), catalog)).toEqual([]);
    expect(analyze(vs("unknown-ports", 1234), catalog)).toEqual([]);
    expect(analyze(vs("reviews", 1234))).toEqual([]);
  });

  it("reports a port the service does not expose, at the port number", () => {
    expect(analyze(vs("reviews", 8080), catalog)).toEqual([
      expect.objectContaining({
        code: "MW0115",
        severity: "error",
        line: 12,
        field: "spec.http[0].route[0].destination.port.number",
        message: 'port 8080 is not a port of service "reviews.default.svc.cluster.local", which exposes 9080 (http)',
        hint: "use port 9080",
      }),
    ]);
  });

  it("checks ServiceEntry ports, and DestinationRule port-level settings (warning)", () => {
    const se = `apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata:
  name: api
spec:
  hosts: [api.example.com]
  ports: [{number: 443, name: https, protocol: HTTPS}]
  resolution: DNS
---
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata:
  name: api
spec:
  host: api.example.com
  trafficPolicy:
    portLevelSettings:
    - port: {number: 80}
      connectionPool: {tcp: {maxConnections: 10}}
---
`;
    expect(analyze(se + vs("api.example.com", 80)).map((f) => `${f.line} ${f.severity} ${f.message}`)).toEqual([
      '32 error port 80 is not a port of ServiceEntry default/api ("api.example.com"), which exposes 443 (https)',
      '18 warning port 80 is not a port of ServiceEntry default/api ("api.example.com"), which exposes 443 (https), so this port-level setting never applies',
    ]);
  });
});
