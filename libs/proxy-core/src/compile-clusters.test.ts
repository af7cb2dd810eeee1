import { loadResources, formatIssue, type MeshResource } from "@meshwork/config";
import { describe, expect, it } from "vitest";
import { compileClusters, type CompileClustersOptions } from "./compile-clusters.ts";

function load(yaml: string): { serviceEntries: MeshResource<"ServiceEntry">[]; workloadEntries: MeshResource<"WorkloadEntry">[]; destinationRules: MeshResource<"DestinationRule">[] } {
  const loaded = loadResources([{ path: "test.yaml", text: yaml }]);
  const errors = loaded.issues.filter((i) => i.severity === "error");
  if (errors.length > 0) throw new Error(errors.map(formatIssue).join("\n"));
  const of = <K extends MeshResource["kind"]>(kind: K): MeshResource<K>[] => loaded.resources.filter((r) => r.kind === kind) as unknown as MeshResource<K>[];
  return { serviceEntries: of("ServiceEntry"), workloadEntries: of("WorkloadEntry"), destinationRules: of("DestinationRule") };
}

const options: CompileClustersOptions = { namespace: "default", domainSuffix: "cluster.local", proxyLabels: { app: "client" } };

const service = (extra = ""): string => `
apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: { name: svc, namespace: default }
spec:
  hosts: [svc.default.svc.cluster.local]
  resolution: STATIC
  ports: [{ number: 80, name: http }]
  endpoints:
  - { address: 10.0.0.1, labels: { version: v1 } }
  - { address: "fd00::2", weight: 0, labels: { version: v2 } }
  - { address: "unix:///var/run/svc.sock" }
${extra}`;

describe("compileClusters", () => {
  it("applies Istio's defaults when no DestinationRule exists", () => {
    const { clusters, issues } = compileClusters(load(service()), options);
    expect(issues).toEqual([]);
    const c = clusters.get("outbound|80||svc.default.svc.cluster.local");
    expect(c).toMatchObject({
      host: "svc.default.svc.cluster.local",
      port: 80,
      subset: undefined,
      protocol: "http",
      discovery: "static",
      balancer: { type: "least-request" },
      hashPolicy: undefined,
      locality: undefined,
      connectionPool: {},
      outlier: undefined,
      tls: undefined,
      connectTimeoutMs: 10_000,
      idleTimeoutMs: 3_600_000,
      upstreamHttp2: false,
      destinationRules: [],
    });
    expect(c?.endpoints.map((e) => [e.address, e.weight])).toEqual([
      ["10.0.0.1:80", 1],
      ["[fd00::2]:80", 1],
      ["unix:///var/run/svc.sock", 1],
    ]);
    expect([...clusters.keys()]).toEqual(["outbound|80||svc.default.svc.cluster.local"]);
  });

  it.each([
    ["an HTTP port", "http", "", undefined, false],
    ["an HTTP port with h2UpgradePolicy UPGRADE", "http", "UPGRADE", undefined, true],
    ["an HTTP port with DO_NOT_UPGRADE", "http", "DO_NOT_UPGRADE", undefined, false],
    ["an http2 port", "http2", "", undefined, true],
    ["an http2 port with DO_NOT_UPGRADE (the policy concerns HTTP ports only)", "http2", "DO_NOT_UPGRADE", undefined, true],
    ["a grpc port with DO_NOT_UPGRADE", "grpc", "DO_NOT_UPGRADE", undefined, true],
    ["an HTTP port, the mesh's policy UPGRADE", "http", "", "UPGRADE", true],
    ["an HTTP port with DEFAULT, the mesh's policy UPGRADE", "http", "DEFAULT", "UPGRADE", true],
    ["an HTTP port with DEFAULT, the mesh's policy DO_NOT_UPGRADE", "http", "DEFAULT", "DO_NOT_UPGRADE", false],
    ["an HTTP port with DO_NOT_UPGRADE, the mesh's policy UPGRADE", "http", "DO_NOT_UPGRADE", "UPGRADE", false],
    ["a port of unknown protocol, the mesh's policy UPGRADE (sniffed ports are not upgraded)", "web", "", "UPGRADE", false],
    ["a port of unknown protocol with UPGRADE (the rule's word counts for any port)", "web", "UPGRADE", undefined, true],
  ] as const)("sends HTTP/1.1 requests upstream over HTTP/2 as Istio does: %s", (_name, portName, policy, mesh, http2) => {
    const rule = policy === "" ? "" : `---
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: { name: svc, namespace: default }
spec:
  host: svc
  trafficPolicy: { connectionPool: { http: { h2UpgradePolicy: ${policy} } } }
`;
    const { clusters } = compileClusters(load(service(rule).replace("name: http }", `name: ${portName} }`)), { ...options, h2UpgradePolicy: mesh });
    expect(clusters.get("outbound|80||svc.default.svc.cluster.local")?.upstreamHttp2).toBe(http2);
  });

  it("keeps the client's protocol with useClientProtocol, even on an http2 port", () => {
    const rule = `---
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: { name: svc, namespace: default }
spec:
  host: svc
  trafficPolicy: { connectionPool: { http: { useClientProtocol: true } } }
`;
    const { clusters } = compileClusters(load(service(rule).replace("name: http }", "name: http2 }")), options);
    expect(clusters.get("outbound|80||svc.default.svc.cluster.local")).toMatchObject({ upstreamHttp2: false, useClientProtocol: true });
  });

  it("builds one cluster per subset with the endpoints its labels select; a subset without labels selects all", () => {
    const yaml = service(`---
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: { name: svc, namespace: default }
spec:
  host: svc
  subsets:
  - { name: v1, labels: { version: v1 } }
  - { name: all }
  - { name: none, labels: { version: v9 } }
`);
    const { clusters } = compileClusters(load(yaml), options);
    expect(clusters.get("outbound|80|v1|svc.default.svc.cluster.local")?.endpoints.map((e) => e.host)).toEqual(["10.0.0.1"]);
    expect(clusters.get("outbound|80|all|svc.default.svc.cluster.local")?.endpoints).toHaveLength(3);
    expect(clusters.get("outbound|80|none|svc.default.svc.cluster.local")?.endpoints).toEqual([]);
    expect(clusters.get("outbound|80|v1|svc.default.svc.cluster.local")?.subsetLabels).toEqual({ version: "v1" });
  });

  it("selects WorkloadEntries of the ServiceEntry's namespace by its workloadSelector, with per-port target ports", () => {
    const yaml = `
apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: { name: vm, namespace: default }
spec:
  hosts: [vm.example.internal]
  resolution: STATIC
  ports: [{ number: 80, name: http, targetPort: 8080 }, { number: 443, name: https }]
  workloadSelector: { labels: { app: vm } }
---
apiVersion: networking.istio.io/v1
kind: WorkloadEntry
metadata: { name: vm-1, namespace: default }
spec: { address: 10.1.0.1, labels: { app: vm }, ports: { https: 8443 }, locality: us/east-1a }
---
apiVersion: networking.istio.io/v1
kind: WorkloadEntry
metadata: { name: vm-2, namespace: default }
spec: { address: 10.1.0.2, labels: { app: other } }
---
apiVersion: networking.istio.io/v1
kind: WorkloadEntry
metadata: { name: vm-3, namespace: elsewhere }
spec: { address: 10.1.0.3, labels: { app: vm } }
`;
    const { clusters } = compileClusters(load(yaml), options);
    const http = clusters.get("outbound|80||vm.example.internal");
    const https = clusters.get("outbound|443||vm.example.internal");
    expect(http?.endpoints.map((e) => e.address)).toEqual(["10.1.0.1:8080"]);
    expect(https?.endpoints.map((e) => e.address)).toEqual(["10.1.0.1:8443"]);
    expect(https?.protocol).toBe("tls");
    expect(http?.endpoints[0]?.locality).toEqual({ region: "us", zone: "east-1a", subZone: "" });
    expect(http?.endpoints[0]?.origin).toBe("WorkloadEntry default/vm-1");
  });

  it("reads the deprecated consecutiveErrors as gateway errors only, like Istio", () => {
    const yaml = service(`---
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: { name: svc, namespace: default }
spec:
  host: svc
  trafficPolicy:
    outlierDetection: { consecutiveErrors: 4 }
    tls: { mode: ISTIO_MUTUAL }
`);
    const c = compileClusters(load(yaml), options).clusters.get("outbound|80||svc.default.svc.cluster.local");
    expect(c?.outlier).toMatchObject({ consecutive5xx: 0, consecutiveGatewayErrors: 4, intervalMs: 10_000, baseEjectionMs: 30_000 });
    expect(c?.locality).toEqual({ failover: [], distribute: [], failoverPriority: [] });
    expect(c?.tls).toMatchObject({ mode: "ISTIO_MUTUAL", sni: "outbound_.80_._.svc.default.svc.cluster.local" });
  });

  it("ignores a DestinationRule whose workloadSelector does not select the proxy", () => {
    const yaml = service(`---
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: { name: svc, namespace: default }
spec:
  host: svc
  workloadSelector: { matchLabels: { app: someone-else } }
  trafficPolicy: { loadBalancer: { simple: RANDOM } }
`);
    const { clusters, issues } = compileClusters(load(yaml), options);
    expect(clusters.get("outbound|80||svc.default.svc.cluster.local")?.balancer).toEqual({ type: "least-request" });
    expect(issues).toEqual([]);
    const selected = compileClusters(load(yaml), { ...options, proxyLabels: { app: "someone-else" } });
    expect(selected.clusters.get("outbound|80||svc.default.svc.cluster.local")?.balancer).toEqual({ type: "random" });
  });

  it("prefers an exact DestinationRule host over a wildcard, and merges subsets of rules for the same host", () => {
    const yaml = service(`---
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: { name: wide, namespace: default }
spec:
  host: "*.cluster.local"
  trafficPolicy: { loadBalancer: { simple: RANDOM } }
---
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: { name: a, namespace: default }
spec:
  host: svc.default.svc.cluster.local
  subsets: [{ name: v1, labels: { version: v1 } }]
---
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: { name: b, namespace: default }
spec:
  host: svc
  trafficPolicy: { loadBalancer: { simple: ROUND_ROBIN } }
  subsets: [{ name: v1, labels: { version: v2 } }, { name: v2, labels: { version: v2 } }]
`);
    const { clusters } = compileClusters(load(yaml), options);
    const main = clusters.get("outbound|80||svc.default.svc.cluster.local");
    expect(main?.balancer).toEqual({ type: "round-robin" });
    expect(main?.destinationRules).toEqual(["default/a", "default/b"]);
    // The first definition of v1 wins.
    expect(clusters.get("outbound|80|v1|svc.default.svc.cluster.local")?.subsetLabels).toEqual({ version: "v1" });
    expect(clusters.has("outbound|80|v2|svc.default.svc.cluster.local")).toBe(true);
  });

  it("reports a host:port defined twice and keeps the first", () => {
    const yaml = `${service()}---
apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: { name: copy, namespace: default }
spec:
  hosts: [svc.default.svc.cluster.local]
  resolution: STATIC
  ports: [{ number: 80, name: http }]
  endpoints: [{ address: 10.9.9.9 }]
`;
    const { clusters, services, issues } = compileClusters(load(yaml), options);
    expect(clusters.get("outbound|80||svc.default.svc.cluster.local")?.endpoints).toHaveLength(3);
    expect(services).toHaveLength(1);
    expect(issues).toEqual([
      'ServiceEntry "default/copy": svc.default.svc.cluster.local:80 is already defined by ServiceEntry "default/svc"; ignored (the first definition wins)',
    ]);
  });

  it("hides ServiceEntries not exported to the proxy's namespace", () => {
    const yaml = service().replace("resolution: STATIC", "resolution: STATIC\n  exportTo: [\".\"]");
    expect(compileClusters(load(yaml), options).clusters.size).toBe(1);
    expect(compileClusters(load(yaml), { ...options, namespace: "other" }).clusters.size).toBe(0);
  });
});
