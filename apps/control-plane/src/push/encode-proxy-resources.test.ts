import { DiscoveryResponse, DiscoveryServiceService } from "@meshwork/protocol";
import { typeUrls, type ProxyResources } from "@meshwork/proxy-core";
import { describe, expect, it } from "vitest";
import { encodeProxyResources } from "./encode-proxy-resources.ts";

const empty: ProxyResources = { cluster: [], endpoints: [], listener: [], routeTable: [], trustBundle: [] };

describe("encodeProxyResources", () => {
  it("gives equal content equal versions and different content different versions, per type", () => {
    const a = encodeProxyResources({ ...empty, trustBundle: [{ name: "cluster.local", body: { trustDomain: "cluster.local", rootsPem: ["A"] } }] });
    const b = encodeProxyResources({ ...empty, trustBundle: [{ name: "cluster.local", body: { trustDomain: "cluster.local", rootsPem: ["A"] } }] });
    const c = encodeProxyResources({ ...empty, trustBundle: [{ name: "cluster.local", body: { trustDomain: "cluster.local", rootsPem: ["B"] } }] });
    expect(a.trustBundle.version).toBe(b.trustBundle.version);
    expect(a.trustBundle.version).not.toBe(c.trustBundle.version);
    expect(a.cluster.version).toBe(c.cluster.version);
    expect(a.trustBundle.version).toMatch(/^[0-9a-f]{16}$/);
  });

  it("survives the protobuf codec of DiscoveryResponse", () => {
    const encoded = encodeProxyResources({ ...empty, trustBundle: [{ name: "cluster.local", body: { trustDomain: "cluster.local", rootsPem: ["A"] } }] });
    const response = { typeUrl: typeUrls.trustBundle, versionInfo: encoded.trustBundle.version, nonce: "cp-1", resources: [...encoded.trustBundle.resources], controlPlaneId: "cp" };
    const decoded = DiscoveryResponse.decode(DiscoveryResponse.encode(response).finish());
    expect(JSON.parse(decoded.resources[0]?.body.toString("utf8") ?? "")).toEqual({ trustDomain: "cluster.local", rootsPem: ["A"] });
    expect(DiscoveryServiceService.streamConfig.path).toBe("/mesh.discovery.v1.DiscoveryService/StreamConfig");
    expect(DiscoveryServiceService.streamConfig.requestStream && DiscoveryServiceService.streamConfig.responseStream).toBe(true);
  });
});
