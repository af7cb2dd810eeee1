import type { ProxyNode } from "@meshwork/proxy-core";
import { describe, expect, it } from "vitest";
import { proxyIdentityError, spiffeIdOfCertificate } from "./proxy-identity.ts";

const node: ProxyNode = { id: "reviews-v1.default", workload: "reviews-v1", namespace: "default", serviceAccount: "bookinfo-reviews", labels: {}, version: "test", kind: "sidecar" };

describe("proxyIdentityError", () => {
  it("accepts the node's own workload ID", () => {
    expect(proxyIdentityError(node, "spiffe://cluster.local/ns/default/sa/bookinfo-reviews", "cluster.local")).toBeUndefined();
  });

  it("refuses another service account or namespace, naming both and the fix", () => {
    expect(proxyIdentityError(node, "spiffe://cluster.local/ns/default/sa/bookinfo-ratings", "cluster.local")).toMatch(
      /proxy reviews-v1\.default asks for the config of namespace default, service account bookinfo-reviews, but its client certificate is spiffe:\/\/cluster\.local\/ns\/default\/sa\/bookinfo-ratings.*--service-account/,
    );
    expect(proxyIdentityError(node, "spiffe://cluster.local/ns/prod/sa/bookinfo-reviews", "cluster.local")).toContain("namespace default");
  });

  it("refuses another trust domain and IDs that are not workload IDs", () => {
    expect(proxyIdentityError(node, "spiffe://other.example/ns/default/sa/bookinfo-reviews", "cluster.local")).toContain("trust domain other.example, not this mesh's cluster.local");
    expect(proxyIdentityError(node, "spiffe://cluster.local/agent/x", "cluster.local")).toContain("not a workload ID");
  });
});

describe("spiffeIdOfCertificate", () => {
  it("says what to do when there is no certificate or it cannot be read", () => {
    expect(spiffeIdOfCertificate(undefined)).toEqual({ ok: false, error: expect.stringContaining("presented no certificate") });
    expect(spiffeIdOfCertificate(new Uint8Array([1, 2, 3]))).toEqual({ ok: false, error: expect.stringContaining("cannot be read") });
  });
});
