import { describe, expect, it } from "vitest";
import { loadResources } from "../load-resources.ts";
import type { MeshCatalog } from "./analyze-resources.ts";
import { findUnknownHosts } from "./host-not-found-analyzer.ts";
import { buildMeshIndex } from "./mesh-index.ts";

function analyze(text: string, catalog?: MeshCatalog) {
  const { resources, issues } = loadResources([{ path: "in.yaml", text }]);
  expect(issues.filter((i) => i.severity === "error")).toEqual([]);
  return findUnknownHosts(buildMeshIndex(resources, { catalog }));
}

const catalog: MeshCatalog = { services: [{ name: "reviews", namespace: "default", ports: [{ number: 9080, name: "http" }] }] };

const vs = (...hosts: string[]) => `apiVersion: networking.istio.io/v1
kind: VirtualService
metadata:
  name: web
spec:
  hosts:
  - web.example.com
  gateways:
  - mesh
  http:
${hosts.map((h) => `  - route:\n    - destination:\n        host: ${h}\n`).join("")}`;

const egress = `apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata:
  name: google
spec:
  hosts: ["*.googleapis.com"]
  ports: [{number: 443, name: https, protocol: HTTPS}]
  resolution: NONE
---
`;

describe("findUnknownHosts", () => {
  it("does nothing without a catalog", () => {
    expect(analyze(vs("nowhere"))).toEqual([]);
  });

  it("accepts catalog services (short or full name) and ServiceEntry hosts, wildcards included", () => {
    expect(analyze(`${egress}${vs("reviews", "reviews.default.svc.cluster.local", "storage.googleapis.com")}`, catalog)).toEqual([]);
  });

  it("reports a host that is neither, at its line, suggesting the near name", () => {
    const findings = analyze(vs("reviews", "review"), catalog);
    expect(findings).toHaveLength(1);
    expect(findings[0]).toMatchObject({
      code: "MW0102",
      severity: "error",
      line: 16,
      field: "spec.http[1].route[0].destination.host",
      message: 'host "review" ("review.default.svc.cluster.local") is not a service in the catalog nor a ServiceEntry host',
      hint: 'did you mean "reviews.default.svc.cluster.local"?',
    });
  });

  it("reports an external host without ServiceEntry", () => {
    const [finding] = analyze(vs("httpbin.org"), catalog);
    expect(finding?.message).toBe('host "httpbin.org" is not a service in the catalog nor a ServiceEntry host');
    expect(finding?.hint).toBe("add the service to the registry, or declare the host with a ServiceEntry");
  });

  it("warns about a DestinationRule whose host is unknown", () => {
    const dr = `apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata:
  name: ratings
spec:
  host: ratings
  trafficPolicy:
    tls: {mode: ISTIO_MUTUAL}
`;
    expect(analyze(dr, catalog).map((f) => `${f.line} ${f.severity} ${f.field}`)).toEqual(["6 warning spec.host"]);
  });
});
