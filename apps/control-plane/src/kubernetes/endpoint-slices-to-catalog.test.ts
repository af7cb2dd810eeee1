import { podHostnameLabel } from "@meshwork/proxy-core";
import { describe, expect, it } from "vitest";
import { endpointSlicesToCatalog, type EndpointSliceLike, type ServiceLike } from "./endpoint-slices-to-catalog.ts";

const service = (name: string, ports: { name?: string; port: number; appProtocol?: string }[]): ServiceLike => ({ metadata: { name, namespace: "shop" }, spec: { ports } });
const slice = (serviceName: string, ports: EndpointSliceLike["ports"], extra: Partial<EndpointSliceLike> = {}): EndpointSliceLike => ({
  metadata: { name: `${serviceName}-x`, namespace: "shop", labels: { "kubernetes.io/service-name": serviceName } },
  addressType: "IPv4",
  endpoints: [{ addresses: ["10.0.0.7"], conditions: { ready: true }, targetRef: { kind: "Pod", name: `${serviceName}-pod` } }],
  ports,
  ...extra,
});

describe("endpointSlicesToCatalog", () => {
  it("takes the protocol from appProtocol, then Istio's port-name prefix", () => {
    const catalog = endpointSlicesToCatalog(
      [service("api", [{ name: "grpc-api", port: 50051 }, { name: "web", port: 80, appProtocol: "kubernetes.io/h2c" }, { name: "db", port: 5432 }])],
      [slice("api", [{ name: "grpc-api", port: 50051 }, { name: "web", port: 8080 }, { name: "db", port: 5432 }])],
    );
    expect(catalog.map((i) => [i.port, i.meta["protocol"]])).toEqual([
      [50051, "grpc"],
      [5432, undefined],
      [8080, "http2"],
    ]);
  });

  it("skips slices without a known Service, IPv6 slices and UDP ports", () => {
    expect(endpointSlicesToCatalog([], [slice("ghost", [{ name: "http", port: 80 }])])).toEqual([]);
    expect(endpointSlicesToCatalog([service("v6", [{ name: "http", port: 80 }])], [slice("v6", [{ name: "http", port: 80 }], { addressType: "IPv6" })])).toEqual([]);
    expect(endpointSlicesToCatalog([service("dns", [{ name: "dns", port: 53 }])], [slice("dns", [{ name: "dns", port: 53, protocol: "UDP" }])])).toEqual([]);
  });

  it("carries the Service's cluster IPs (not a headless Service's None) as the cluster-ip meta", () => {
    const withIps: ServiceLike = { metadata: { name: "reviews", namespace: "shop" }, spec: { ports: [{ name: "http", port: 9080 }], clusterIP: "10.96.0.20", clusterIPs: ["10.96.0.20", "fd00::20"] } };
    const headless: ServiceLike = { metadata: { name: "db", namespace: "shop" }, spec: { ports: [{ name: "tcp", port: 5432 }], clusterIP: "None" } };
    const catalog = endpointSlicesToCatalog([withIps, headless], [slice("reviews", [{ name: "http", port: 9080 }]), slice("db", [{ name: "tcp", port: 5432 }])]);
    expect(catalog.map((i) => [i.serviceName, i.meta["cluster-ip"]])).toEqual([
      ["db", undefined],
      ["reviews", "10.96.0.20,fd00::20"],
    ]);
  });

  it("carries an endpoint's hostname (a pod under its headless Service) as the meshwork.io/pod-hostname meta, which becomes a workload label", () => {
    const headless: ServiceLike = { metadata: { name: "mysql", namespace: "shop" }, spec: { ports: [{ name: "tcp", port: 3306 }], clusterIP: "None" } };
    const endpoints = [
      { addresses: ["10.0.0.7"], hostname: "mysql-0", conditions: { ready: true }, targetRef: { kind: "Pod", name: "mysql-0" } },
      { addresses: ["10.0.0.8"], conditions: { ready: true }, targetRef: { kind: "Pod", name: "other" } },
    ];
    const catalog = endpointSlicesToCatalog([headless], [slice("mysql", [{ name: "tcp", port: 3306 }], { endpoints })]);
    expect(catalog.map((i) => [i.address, i.meta[podHostnameLabel]])).toEqual([
      ["10.0.0.7", "mysql-0"],
      ["10.0.0.8", undefined],
    ]);
  });
});
