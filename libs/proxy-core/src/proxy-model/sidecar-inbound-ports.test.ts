import { loadResources, type MeshResource } from "@meshwork/config";
import { describe, expect, it } from "vitest";
import type { InboundPort } from "../proxy-config.ts";
import { parseDefaultEndpoint, sidecarInboundPorts } from "./sidecar-inbound-ports.ts";

const derived: InboundPort[] = [{ port: 9080, targetPort: 9080, portName: "http", protocol: "http", cluster: "inbound|9080||", host: "ratings.shop.svc.cluster.local" }];

function sidecar(spec: string): MeshResource<"Sidecar"> {
  const loaded = loadResources([{ path: "s.yaml", text: `apiVersion: networking.istio.io/v1\nkind: Sidecar\nmetadata: {name: s, namespace: shop}\nspec:\n${spec}` }]);
  expect(loaded.issues.filter((i) => i.severity === "error")).toEqual([]);
  return loaded.resources[0] as MeshResource<"Sidecar">;
}

describe("sidecarInboundPorts", () => {
  it("keeps the derived ports without a Sidecar or without ingress listeners", () => {
    expect(sidecarInboundPorts(undefined, derived).ports).toBe(derived);
    expect(sidecarInboundPorts(sidecar("  egress: [{hosts: ['./*']}]\n"), derived).ports).toBe(derived);
  });

  it("gives the derived ports inboundConnectionPool as their limits", () => {
    expect(sidecarInboundPorts(sidecar("  inboundConnectionPool: {tcp: {maxConnections: 3}}\n"), derived).ports).toEqual([{ ...derived[0], connectionPool: { tcp: { maxConnections: 3 }, http: undefined } }]);
  });

  it("replaces them with the ingress listeners: own port, defaultEndpoint, protocol after TLS, per-port pool over the shared one", () => {
    const { ports, issues } = sidecarInboundPorts(
      sidecar(`  ingress:
  - port: {number: 9080, protocol: HTTP, name: http}
    defaultEndpoint: 127.0.0.1:8080
    bind: 10.0.0.1
  - port: {number: 9443, protocol: HTTPS, name: https}
    defaultEndpoint: unix:///var/run/app.sock
    tls: {mode: SIMPLE, serverCertificate: /c, privateKey: /k}
  - port: {number: 5432, protocol: TLS, name: tls-db}
    defaultEndpoint: "[::]:15432"
    tls: {mode: SIMPLE, serverCertificate: /c, privateKey: /k}
    connectionPool: {tcp: {maxConnections: 1}}
  inboundConnectionPool: {http: {http1MaxPendingRequests: 2}}
`),
      derived,
    );
    expect(issues).toEqual([]);
    expect(ports.map((p) => [p.port, p.listenPort, p.bind, p.endpointHost, p.targetPort, p.protocol, p.cluster, p.host, p.tls?.mode, p.connectionPool])).toEqual([
      [9080, 9080, "10.0.0.1", "127.0.0.1", 8080, "http", "inbound|9080||", "ratings.shop.svc.cluster.local", undefined, { tcp: undefined, http: { http1MaxPendingRequests: 2 } }],
      [9443, 9443, undefined, "unix:///var/run/app.sock", 0, "http", "inbound|9443||", "ratings.shop.svc.cluster.local", "SIMPLE", { tcp: undefined, http: { http1MaxPendingRequests: 2 } }],
      [5432, 5432, undefined, undefined, 15432, "tcp", "inbound|5432||", "ratings.shop.svc.cluster.local", "SIMPLE", { tcp: { maxConnections: 1 }, http: undefined }],
    ]);
  });
});

describe("parseDefaultEndpoint", () => {
  it.each([
    ["127.0.0.1:8080", { host: "127.0.0.1", port: 8080 }],
    ["[::1]:8080", { host: "::1", port: 8080 }],
    ["0.0.0.0:8080", { host: undefined, port: 8080 }],
    ["unix:///run/app.sock", { host: "unix:///run/app.sock", port: 0 }],
    [undefined, { host: undefined, port: 9080 }],
  ] as const)("%s", (endpoint, expected) => {
    expect(parseDefaultEndpoint(endpoint, 9080)).toEqual(expected);
  });
});
