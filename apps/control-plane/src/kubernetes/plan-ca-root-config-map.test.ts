import { describe, expect, it } from "vitest";
import { planCaRootConfigMap } from "./plan-ca-root-config-map.ts";

const desired = { namespace: "shop", name: "meshwork-ca-root-cert", rootCertPem: "ROOT" };

describe("planCaRootConfigMap", () => {
  it("creates a missing ConfigMap with the root and the mesh label", () => {
    expect(planCaRootConfigMap(undefined, desired)).toEqual({
      type: "create",
      body: { apiVersion: "v1", kind: "ConfigMap", metadata: { name: "meshwork-ca-root-cert", namespace: "shop", labels: { "meshwork.io/config": "true" } }, data: { "root-cert.pem": "ROOT" } },
    });
  });

  it("leaves an up-to-date ConfigMap alone", () => {
    expect(planCaRootConfigMap({ metadata: { resourceVersion: "7", labels: { "meshwork.io/config": "true", team: "a" } }, data: { "root-cert.pem": "ROOT", other: "x" } }, desired)).toEqual({ type: "none" });
  });

  it("replaces a stale root or a missing label, keeping its resourceVersion, other keys and labels", () => {
    const plan = planCaRootConfigMap({ metadata: { name: "meshwork-ca-root-cert", namespace: "shop", resourceVersion: "7", labels: { team: "a" } }, data: { "root-cert.pem": "OLD", other: "x" } }, desired);
    expect(plan).toEqual({
      type: "replace",
      body: { apiVersion: "v1", kind: "ConfigMap", metadata: { name: "meshwork-ca-root-cert", namespace: "shop", resourceVersion: "7", labels: { team: "a", "meshwork.io/config": "true" } }, data: { "root-cert.pem": "ROOT", other: "x" } },
    });
    expect(planCaRootConfigMap({ metadata: { resourceVersion: "7" }, data: { "root-cert.pem": "ROOT" } }, desired).type).toBe("replace");
  });
});
