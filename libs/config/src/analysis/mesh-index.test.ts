import { describe, expect, it } from "vitest";
import { loadResources } from "../load-resources.ts";
import type { MeshCatalog } from "./analyze-resources.ts";
import { buildMeshIndex, hostCandidates, isExportedTo, labelsMatch } from "./mesh-index.ts";

function index(text: string, catalog?: MeshCatalog) {
  const { resources, issues } = loadResources([{ path: "in.yaml", text }]);
  expect(issues.filter((i) => i.severity === "error")).toEqual([]);
  return buildMeshIndex(resources, { catalog });
}

describe("hostCandidates", () => {
  it("turns a short name into the FQDN of the resource's namespace", () => {
    expect(hostCandidates("reviews", "prod", "cluster.local")).toEqual(["reviews.prod.svc.cluster.local"]);
    expect(hostCandidates("reviews", "prod", "corp.example")).toEqual(["reviews.prod.svc.corp.example"]);
  });
  it("keeps name.namespace as written and also tries it as a service FQDN", () => {
    expect(hostCandidates("reviews.prod", "default", "cluster.local")).toEqual(["reviews.prod", "reviews.prod.svc.cluster.local"]);
  });
  it("keeps FQDNs, wildcards, * and IP addresses as they are", () => {
    expect(hostCandidates("reviews.prod.svc.cluster.local", "x", "cluster.local")).toEqual(["reviews.prod.svc.cluster.local"]);
    expect(hostCandidates("*.example.com", "x", "cluster.local")).toEqual(["*.example.com"]);
    expect(hostCandidates("*", "x", "cluster.local")).toEqual(["*"]);
    expect(hostCandidates("10.1.2.3", "x", "cluster.local")).toEqual(["10.1.2.3"]);
  });
});

describe("visibility and labels", () => {
  it("isExportedTo reads ., *, ~ and namespace names", () => {
    expect(isExportedTo(undefined, "a", "b")).toBe(true);
    expect(isExportedTo(["*"], "a", "b")).toBe(true);
    expect(isExportedTo(["."], "a", "a")).toBe(true);
    expect(isExportedTo(["."], "a", "b")).toBe(false);
    expect(isExportedTo(["~"], "a", "a")).toBe(false);
    expect(isExportedTo(["b", "c"], "a", "c")).toBe(true);
  });
  it("labelsMatch needs every selector label", () => {
    expect(labelsMatch({ app: "a" }, { app: "a", version: "v1" })).toBe(true);
    expect(labelsMatch({ app: "a", version: "v2" }, { app: "a", version: "v1" })).toBe(false);
    expect(labelsMatch({}, {})).toBe(true);
  });
});

const serviceEntries = `apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata:
  name: external
  namespace: egress
spec:
  hosts: ["api.example.com", "*.googleapis.com"]
  ports: [{number: 443, name: https, protocol: HTTPS}]
  resolution: NONE
---
apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata:
  name: private
  namespace: team-a
spec:
  hosts: ["db.internal"]
  exportTo: ["."]
  ports: [{number: 5432, name: tcp, protocol: TCP}]
  resolution: DNS
`;

describe("buildMeshIndex", () => {
  const catalog: MeshCatalog = {
    services: [
      { name: "reviews", namespace: "default", ports: [{ number: 9080 }], instances: [{ labels: { app: "reviews", version: "v1" } }, { labels: { app: "reviews", version: "v2" } }] },
      { name: "legacy", namespace: "default", hostname: "legacy.corp.example" },
    ],
  };
  const mesh = index(
    `${serviceEntries}---
apiVersion: networking.istio.io/v1
kind: WorkloadEntry
metadata:
  name: vm-1
  namespace: team-a
spec:
  address: 10.0.0.9
  labels: {app: db}
`,
    catalog,
  );

  it("finds catalog services by short name, FQDN and explicit hostname", () => {
    expect(mesh.findService("reviews", "default")).toMatchObject({ kind: "catalog", host: "reviews.default.svc.cluster.local" });
    expect(mesh.findService("reviews.default.svc.cluster.local", "other")).toMatchObject({ kind: "catalog" });
    expect(mesh.findService("reviews.default", "other")).toMatchObject({ kind: "catalog" });
    expect(mesh.findService("reviews", "other")).toBeUndefined();
    expect(mesh.findService("legacy.corp.example", "x")).toMatchObject({ kind: "catalog", namespace: "default" });
  });

  it("finds ServiceEntry hosts exactly and by wildcard, only where exported", () => {
    expect(mesh.findService("api.example.com", "default")).toMatchObject({ kind: "ServiceEntry", host: "api.example.com", namespace: "egress" });
    expect(mesh.findService("storage.googleapis.com", "default")).toMatchObject({ kind: "ServiceEntry", host: "*.googleapis.com" });
    expect(mesh.findService("db.internal", "team-a")).toMatchObject({ kind: "ServiceEntry" });
    expect(mesh.findService("db.internal", "team-b")).toBeUndefined();
  });

  it("selects workloads of catalog instances and WorkloadEntries by labels and namespace", () => {
    expect(mesh.selectWorkloads({ app: "reviews" }, "default")).toHaveLength(2);
    expect(mesh.selectWorkloads({ app: "reviews", version: "v2" }, "default").map((w) => w.labels["version"])).toEqual(["v2"]);
    expect(mesh.selectWorkloads({ app: "reviews" }, "team-a")).toEqual([]);
    expect(mesh.selectWorkloads({ app: "db" }, "team-a").map((w) => w.origin)).toEqual(["WorkloadEntry team-a/vm-1"]);
    expect(mesh.selectWorkloads({ app: "db" }, "*")).toHaveLength(1);
    expect(mesh.selectWorkloads({}, "default")).toHaveLength(2);
    expect([...mesh.workloadNamespaces].sort()).toEqual(["default", "team-a"]);
  });

  it("puts resources without namespace in the default namespace", () => {
    const custom = loadResources([{ path: "x", text: serviceEntries.replace("  namespace: egress\n", "") }]).resources;
    const built = buildMeshIndex(custom, { defaultNamespace: "apps" });
    expect(built.find("ServiceEntry", "apps", "external")).toBeDefined();
    expect(built.find("ServiceEntry", "default", "external")).toBeUndefined();
  });
});
