import { describe, expect, it } from "vitest";
import { ConfigStore, type StoreChange } from "./config-store.ts";

const vs = (name: string, timeout: string) => `apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: ${name}, namespace: default}
spec:
  hosts: [${name}]
  http:
  - timeout: ${timeout}
    route:
    - destination: {host: ${name}}
`;

function store() {
  const s = new ConfigStore({ mesh: { domainSuffix: "cluster.local", rootNamespace: "istio-system", trustDomain: "cluster.local" }, defaultNamespace: "default", sources: ["registry", "directory"], needsCatalog: true });
  const changes: StoreChange[] = [];
  s.onChange((c) => changes.push(c));
  return { s, changes };
}

describe("ConfigStore", () => {
  it("is ready only once every source and the catalog delivered", () => {
    const { s } = store();
    s.setEntries("registry", []);
    expect(s.isReady).toBe(false);
    s.setEntries("directory", []);
    expect(s.isReady).toBe(false);
    s.setCatalog([]);
    expect(s.isReady).toBe(true);
  });

  it("merges the sources into one snapshot and bumps the revision only when resources change", () => {
    const { s, changes } = store();
    s.setEntries("registry", [{ key: "meshwork/config/VirtualService/default/a", text: vs("a", "1s") }]);
    s.setEntries("directory", [{ key: "b.yaml", text: vs("b", "1s") }]);
    expect(s.snapshot.revision).toBe("2");
    expect(s.snapshot.resources.map((r) => r.metadata.name)).toEqual(["a", "b"]);
    s.setEntries("directory", [{ key: "b.yaml", text: vs("b", "1s") }]);
    expect(s.snapshot.revision).toBe("2");
    expect(changes).toHaveLength(2);
  });

  it("keeps the last good snapshot when a source delivers a bad version, and reports the rejection", () => {
    const { s, changes } = store();
    s.setEntries("directory", [{ key: "a.yaml", text: vs("a", "1s") }]);
    const good = s.snapshot;
    s.setEntries("directory", [{ key: "a.yaml", text: vs("a", "soon") }]);
    expect(s.snapshot).toBe(good);
    const last = changes.at(-1);
    expect(last?.type === "config" ? last.rejected.map((r) => [r.key, r.keptLastGood]) : []).toEqual([["a.yaml", true]]);
  });

  it("replaces the catalog object only when the instances change, so per-catalog caches stay valid", () => {
    const { s, changes } = store();
    const instance = { node: "n", nodeAddress: "10.0.0.1", serviceId: "r1", serviceName: "reviews", address: "", port: 9080, tags: [], meta: { app: "reviews" }, health: "passing" };
    s.setCatalog([instance]);
    const first = s.catalog;
    s.setCatalog([{ ...instance }]);
    expect(s.catalog).toBe(first);
    s.setCatalog([{ ...instance, health: "critical" }]);
    expect(s.catalog).not.toBe(first);
    expect(changes.filter((c) => c.type === "catalog")).toHaveLength(2);
  });

  it("analyzes the serving config against the catalog", () => {
    const { s } = store();
    s.setCatalog([]);
    s.setEntries("directory", [{ key: "a.yaml", text: vs("a", "1s") }]);
    expect(s.analysis().map((i) => i.name)).toContain("HostNotFound");
  });

  it("pushes a new trust bundle as a new revision, and nothing for the same one", () => {
    const { s, changes } = store();
    s.setEntries("registry", []);
    const revision = s.snapshot.revision;
    const root = "-----BEGIN CERTIFICATE-----\nAA==\n-----END CERTIFICATE-----\n";
    const bundle = [{ trustDomain: "cluster.local", rootsPem: [root] }];
    s.setTrustBundles(bundle);
    expect(s.snapshot.trustBundles).toEqual(bundle);
    expect(s.snapshot.revision).not.toBe(revision);
    expect(changes.at(-1)).toMatchObject({ type: "config", revision: s.snapshot.revision });
    const count = changes.length;
    s.setTrustBundles([{ trustDomain: "cluster.local", rootsPem: [root] }]);
    expect(changes).toHaveLength(count);
  });
});
