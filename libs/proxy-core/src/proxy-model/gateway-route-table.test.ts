import { loadResources } from "@meshwork/config";
import { describe, expect, it } from "vitest";
import { gatewayListeners } from "../gateway/gateway-listeners.ts";
import { assembleProxyConfig } from "./assemble-proxy-config.ts";
import { computeProxyConfig, type ConfigSnapshot } from "./compute-proxy-config.ts";
import type { ProxyNode } from "./proxy-resources.ts";

// Istio's bookinfo-gateway.yaml (samples/bookinfo/networking), plus a second Gateway for other labels
// and a mesh-only VirtualService that must not reach the gateway.
const yaml = `
apiVersion: networking.istio.io/v1
kind: Gateway
metadata: {name: bookinfo-gateway, namespace: default}
spec:
  selector: {istio: ingressgateway}
  servers:
  - port: {number: 8080, name: http, protocol: HTTP}
    hosts: ["*"]
---
apiVersion: networking.istio.io/v1
kind: Gateway
metadata: {name: egress, namespace: default}
spec:
  selector: {istio: egressgateway}
  servers:
  - port: {number: 80, name: http, protocol: HTTP}
    hosts: ["*"]
---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: bookinfo, namespace: default}
spec:
  hosts: ["*"]
  gateways: [bookinfo-gateway]
  http:
  - match:
    - uri: {exact: /productpage}
    route:
    - destination: {host: productpage, port: {number: 9080}, subset: v1}
---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: reviews, namespace: default}
spec:
  hosts: [reviews]
  http:
  - route:
    - destination: {host: reviews, subset: v1}
---
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: {name: productpage, namespace: default}
spec:
  host: productpage
  subsets:
  - name: v1
    labels: {version: v1}
---
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: {name: reviews, namespace: default}
spec:
  host: reviews
  subsets:
  - name: v1
    labels: {version: v1}
`;

const resources = loadResources([{ path: "bookinfo.yaml", text: yaml }]).resources;
const snapshot: ConfigSnapshot = { revision: "1", resources, mesh: { domainSuffix: "cluster.local", rootNamespace: "istio-system", trustDomain: "cluster.local" }, trustBundles: [] };
const catalog = { instances: [] };
const gatewayNode: ProxyNode = { id: "gw", workload: "", namespace: "istio-system", serviceAccount: "istio-ingressgateway", labels: { istio: "ingressgateway" }, version: "t", kind: "gateway" };

describe("gateway variant of computeProxyConfig", () => {
  it("gives a gateway proxy one route table per Gateway selecting it, with the VirtualServices bound to it", () => {
    const computed = computeProxyConfig(snapshot, catalog, gatewayNode);
    expect(computed.resources.routeTable.map((r) => r.name)).toEqual(["default/bookinfo-gateway"]);
    const body = computed.resources.routeTable[0]?.body;
    expect(body?.definition?.metadata.name).toBe("bookinfo-gateway");
    expect(body?.virtualServices.map((vs) => vs.metadata.name)).toEqual(["bookinfo"]);
    expect(body?.destinationRules.map((dr) => dr.metadata.name)).toEqual(["productpage"]);
    expect(computed.issues.filter((i) => i.includes("gateway"))).toEqual([]);
  });

  it("assembles into a config whose Gateway listeners and gateway routes router mode serves", () => {
    const computed = computeProxyConfig(snapshot, catalog, gatewayNode);
    const { config } = assembleProxyConfig(JSON.parse(JSON.stringify(computed.resources)), { namespace: "istio-system", domainSuffix: "cluster.local", version: "v" });
    expect(config.gateways?.map((g) => g.metadata.name)).toEqual(["bookinfo-gateway"]);
    expect(gatewayListeners(config.gateways ?? [], gatewayNode.labels).listeners.map((l) => l.port)).toEqual([8080]);
    expect([...config.routeTable.gateways.keys()]).toEqual(["default/bookinfo-gateway"]);
  });

  it("says so when no Gateway selects the gateway proxy, and a sidecar keeps the mesh table", () => {
    const lonely = computeProxyConfig(snapshot, catalog, { ...gatewayNode, labels: { istio: "other" } });
    expect(lonely.resources.routeTable).toEqual([]);
    expect(lonely.issues.some((i) => i.includes("no Gateway selects"))).toBe(true);
    const sidecar = computeProxyConfig(snapshot, catalog, { ...gatewayNode, namespace: "default", labels: { app: "productpage" }, kind: "sidecar" });
    expect(sidecar.resources.routeTable.map((r) => r.name)).toEqual(["mesh"]);
    expect(sidecar.resources.routeTable[0]?.body.virtualServices.map((vs) => vs.metadata.name)).toEqual(["reviews"]);
  });
});
