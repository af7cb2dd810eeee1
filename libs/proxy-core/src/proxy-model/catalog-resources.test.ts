import { describe, expect, it } from "vitest";
import { catalogResources, type CatalogInstance } from "./catalog-resources.ts";

const instance = (id: string, service: string, health = "passing", address = "10.0.0.1"): CatalogInstance => ({
  node: "n1",
  nodeAddress: "10.0.0.100",
  serviceId: id,
  serviceName: service,
  address,
  port: 8080,
  tags: [],
  meta: { app: service },
  health,
});

describe("catalogResources given the previous result", () => {
  const before = catalogResources({ instances: [instance("a-1", "a"), instance("b-1", "b"), instance("b-2", "b")] }, { domainSuffix: "cluster.local" });

  it("keeps the objects of services whose instances are unchanged, and makes new ones for the others", () => {
    const after = catalogResources({ instances: [instance("a-1", "a"), instance("b-1", "b"), instance("b-2", "b", "critical")] }, { domainSuffix: "cluster.local" }, before);
    expect(after.serviceEntries[0]).toBe(before.serviceEntries[0]);
    expect(after.workloadEntries[0]).toBe(before.workloadEntries[0]);
    expect(after.serviceEntries[1]).not.toBe(before.serviceEntries[1]);
    expect(after.serviceEntries[1]?.spec.endpoints).toHaveLength(1);
    expect(after.workloadEntries.map((w) => w.metadata.name)).toEqual(["a-1", "b-1"]);
  });

  it("reuses nothing that depends on a changed input (an address, the DNS suffix)", () => {
    const moved = catalogResources({ instances: [instance("a-1", "a", "passing", "10.0.0.2"), instance("b-1", "b"), instance("b-2", "b")] }, { domainSuffix: "cluster.local" }, before);
    expect(moved.serviceEntries[0]).not.toBe(before.serviceEntries[0]);
    expect(moved.serviceEntries[0]?.spec.endpoints?.[0]?.address).toBe("10.0.0.2");
    const otherSuffix = catalogResources({ instances: [instance("a-1", "a")] }, { domainSuffix: "example.org" }, before);
    expect(otherSuffix.serviceEntries[0]?.spec.hosts).toEqual(["a.default.svc.example.org"]);
  });

  it("gives the same content as without a previous result", () => {
    const instances = [instance("a-1", "a"), instance("b-2", "b")];
    expect(JSON.stringify(catalogResources({ instances }, { domainSuffix: "cluster.local" }, before))).toBe(JSON.stringify(catalogResources({ instances }, { domainSuffix: "cluster.local" })));
  });
});

describe("catalogResources cluster IPs", () => {
  it("turns the cluster-ip meta (a Kubernetes Service's clusterIPs) into the ServiceEntry's addresses, not a label", () => {
    const withIp: CatalogInstance = { ...instance("r-1", "reviews"), meta: { app: "reviews", "cluster-ip": "10.96.0.10, fd00::a" } };
    const { serviceEntries, workloadEntries } = catalogResources({ instances: [withIp, instance("d-1", "details")] }, { domainSuffix: "cluster.local" });
    const reviews = serviceEntries.find((se) => se.spec.hosts[0] === "reviews.default.svc.cluster.local");
    expect(reviews?.spec.addresses).toEqual(["10.96.0.10", "fd00::a"]);
    expect(serviceEntries.find((se) => se.spec.hosts[0] === "details.default.svc.cluster.local")?.spec.addresses).toBeUndefined();
    expect(workloadEntries.find((we) => we.metadata.name === "r-1")?.spec.labels).not.toHaveProperty("cluster-ip");
  });
});
