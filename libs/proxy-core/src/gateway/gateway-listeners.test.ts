import { loadResources, type MeshResource } from "@meshwork/config";
import { describe, expect, it } from "vitest";
import { gatewayListeners, serverAdmitsHost } from "./gateway-listeners.ts";

function gateways(yaml: string): MeshResource<"Gateway">[] {
  const loaded = loadResources([{ path: "gw.yaml", text: yaml }]);
  expect(loaded.issues).toEqual([]);
  return loaded.resources.filter((r): r is MeshResource<"Gateway"> => r.kind === "Gateway");
}

// Istio's bookinfo-gateway.yaml, plus a second gateway on the same port and one on another.
const bookinfo = gateways(`
apiVersion: networking.istio.io/v1
kind: Gateway
metadata: { name: bookinfo-gateway, namespace: default }
spec:
  selector: { istio: ingressgateway }
  servers:
  - port: { number: 8080, name: http, protocol: HTTP }
    hosts: ["*"]
---
apiVersion: networking.istio.io/v1
kind: Gateway
metadata: { name: shop, namespace: shop }
spec:
  selector: { istio: ingressgateway }
  servers:
  - port: { number: 8080, name: http, protocol: HTTP }
    hosts: ["shop/*.shop.example.com"]
  - port: { number: 9000, name: tcp, protocol: TCP }
    hosts: ["*"]
  - port: { number: 8443, name: grpc, protocol: GRPC }
    hosts: ["./api.example.com"]
---
apiVersion: networking.istio.io/v1
kind: Gateway
metadata: { name: other, namespace: default }
spec:
  selector: { istio: eastwestgateway }
  servers:
  - port: { number: 15443, name: http, protocol: HTTP }
    hosts: ["*.local"]
`);

describe("gatewayListeners", () => {
  it("binds every server of the Gateways selecting the proxy, grouped by port, hosts without their namespace", () => {
    const result = gatewayListeners(bookinfo, { istio: "ingressgateway", app: "istio-ingressgateway" });
    expect(result.listeners).toEqual([
      {
        port: 8080,
        protocol: "HTTP",
        servers: [
          { gateway: "default/bookinfo-gateway", hosts: ["*"], server: 0 },
          { gateway: "shop/shop", hosts: ["*.shop.example.com"], server: 0 },
        ],
      },
      { port: 8443, protocol: "GRPC", servers: [{ gateway: "shop/shop", hosts: ["api.example.com"], server: 2 }] },
    ]);
    expect(result.issues).toEqual(["Gateway shop/shop servers[1] (port 9000): protocol TCP is not served in router mode yet (HTTP, HTTP2, GRPC, GRPC-WEB are); the server is ignored"]);
  });

  it("binds nothing for a proxy no selector matches", () => {
    expect(gatewayListeners(bookinfo, { app: "reviews" })).toEqual({ listeners: [], issues: [] });
  });

  it("refuses a second protocol on a port already bound", () => {
    const clash = gateways(`
apiVersion: networking.istio.io/v1
kind: Gateway
metadata: { name: a, namespace: default }
spec:
  selector: { istio: ingressgateway }
  servers:
  - port: { number: 8080, name: http, protocol: HTTP }
    hosts: ["*"]
  - port: { number: 8080, name: grpc, protocol: GRPC }
    hosts: ["*"]
`);
    const result = gatewayListeners(clash, { istio: "ingressgateway" });
    expect(result.listeners.map((l) => [l.port, l.protocol, l.servers.length])).toEqual([[8080, "HTTP", 1]]);
    expect(result.issues[0]).toContain("protocol GRPC conflicts with HTTP already bound to port 8080");
  });
});

describe("serverAdmitsHost", () => {
  it("matches *, exact hosts and wildcard suffixes, ignoring the port and case", () => {
    expect(serverAdmitsHost(["*"], "anything:8080")).toBe(true);
    expect(serverAdmitsHost(["bookinfo.example.com"], "BookInfo.example.com:80")).toBe(true);
    expect(serverAdmitsHost(["*.example.com"], "a.example.com")).toBe(true);
    expect(serverAdmitsHost(["*.example.com"], "example.com")).toBe(false);
    expect(serverAdmitsHost(["bookinfo.example.com"], "other.example.com")).toBe(false);
    expect(serverAdmitsHost(["*"], "[::1]:8080")).toBe(true);
  });
});
