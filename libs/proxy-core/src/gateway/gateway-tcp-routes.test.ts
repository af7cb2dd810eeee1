import { loadResources, type MeshResource } from "@meshwork/config";
import { describe, expect, it } from "vitest";
import { compileGatewayTcpRoutes, findGatewayTcpRoute } from "./gateway-tcp-routes.ts";

// Istio's "Ingress Gateway without TLS Termination" task (a passthrough server and its tls
// route), plus a TCP server with a tcp route on another Gateway, and a sidecar-only VirtualService.
const loaded = loadResources([
  {
    path: "gw.yaml",
    text: `
apiVersion: networking.istio.io/v1
kind: Gateway
metadata: { name: mygateway, namespace: istio-system }
spec:
  selector: { istio: ingressgateway }
  servers:
  - port: { number: 443, name: https, protocol: HTTPS }
    tls: { mode: PASSTHROUGH }
    hosts: [nginx.example.com, "*.shop.example.com"]
---
apiVersion: networking.istio.io/v1
kind: Gateway
metadata: { name: tcp-gateway, namespace: default }
spec:
  selector: { istio: ingressgateway }
  servers:
  - port: { number: 31400, name: tcp, protocol: TCP }
    hosts: ["*"]
---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: { name: nginx, namespace: default }
spec:
  hosts: [nginx.example.com, "*.shop.example.com"]
  gateways: [istio-system/mygateway]
  tls:
  - match: [{ port: 443, sniHosts: [nginx.example.com] }]
    route: [{ destination: { host: my-nginx, port: { number: 443 } } }]
  - match: [{ port: 443, sniHosts: ["*.shop.example.com"] }]
    route: [{ destination: { host: shop, port: { number: 8443 } } }]
---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: { name: tcp-echo, namespace: default }
spec:
  hosts: ["*"]
  gateways: [tcp-gateway]
  tcp:
  - match: [{ port: 31400 }]
    route: [{ destination: { host: tcp-echo, port: { number: 9000 } } }]
---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: { name: mesh-only, namespace: default }
spec:
  hosts: [db]
  tcp:
  - route: [{ destination: { host: db, port: { number: 5432 } } }]
`,
  },
]);
const gateways = loaded.resources.filter((r): r is MeshResource<"Gateway"> => r.kind === "Gateway");
const virtualServices = loaded.resources.filter((r): r is MeshResource<"VirtualService"> => r.kind === "VirtualService");
const tables = compileGatewayTcpRoutes(gateways, virtualServices, [], { namespace: "istio-system", domainSuffix: "cluster.local" });
const connection = { sourceLabels: { istio: "ingressgateway" }, sourceNamespace: "istio-system" };

describe("gateway TCP routes", () => {
  it("compiles a table per Gateway with only the routes bound to it", () => {
    expect(loaded.issues).toEqual([]);
    expect([...tables.keys()]).toEqual(["istio-system/mygateway", "default/tcp-gateway"]);
  });

  it("takes a passthrough connection by its SNI with the tls routes", () => {
    const table = tables.get("istio-system/mygateway");
    expect(table).toBeDefined();
    if (!table) return;
    const route = (sni: string, port = 443): string | undefined => findGatewayTcpRoute(table, { port, sni, ...connection })?.destinations[0]?.cluster;
    expect(route("nginx.example.com")).toBe("outbound|443||my-nginx.default.svc.cluster.local");
    expect(route("cart.shop.example.com")).toBe("outbound|8443||shop.default.svc.cluster.local");
    expect(route("other.example.com")).toBeUndefined();
    expect(route("nginx.example.com", 8443)).toBeUndefined();
    // No SNI on the passthrough gateway's table: no tcp route there either.
    expect(findGatewayTcpRoute(table, { port: 443, sni: undefined, ...connection })).toBeUndefined();
  });

  it("takes a TCP connection by its port, and never a route of another gateway or of the mesh", () => {
    const table = tables.get("default/tcp-gateway");
    expect(table).toBeDefined();
    if (!table) return;
    expect(findGatewayTcpRoute(table, { port: 31400, sni: undefined, ...connection })?.name).toBe("default/tcp-echo tcp[0]");
    expect(findGatewayTcpRoute(table, { port: 5432, sni: undefined, ...connection })).toBeUndefined();
  });

  it("has no tables when no VirtualService has tcp or tls routes", () => {
    expect(compileGatewayTcpRoutes(gateways, [], [], { namespace: "istio-system", domainSuffix: "cluster.local" }).size).toBe(0);
  });
});

describe("gateway TCP routes of a server's hosts", () => {
  // One Gateway terminating TLS for two hosts on one port; each host's VirtualService routes the
  // port elsewhere, and a `*.internal` one covers a third. The server that took the connection
  // decides which VirtualServices apply, as Istio's pickMatchingGatewayHosts.
  const yaml = loadResources([
    {
      path: "hosts.yaml",
      text: `
apiVersion: networking.istio.io/v1
kind: Gateway
metadata: { name: edge, namespace: istio-system }
spec:
  selector: { istio: ingressgateway }
  servers:
  - port: { number: 9443, name: tls, protocol: TLS }
    tls: { mode: SIMPLE, credentialName: edge }
    hosts: [db.example.com, queue.example.com, "*.internal"]
---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: { name: db, namespace: default }
spec:
  hosts: [db.example.com]
  gateways: [istio-system/edge]
  tcp: [{ match: [{ port: 9443 }], route: [{ destination: { host: db, port: { number: 5432 } } }] }]
---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: { name: queue, namespace: default }
spec:
  hosts: [queue.example.com]
  gateways: [istio-system/edge]
  tcp: [{ match: [{ port: 9443 }], route: [{ destination: { host: queue, port: { number: 5672 } } }] }]
---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: { name: internal, namespace: default }
spec:
  hosts: ["*.internal"]
  gateways: [istio-system/edge]
  tcp: [{ match: [{ port: 9443 }], route: [{ destination: { host: cache, port: { number: 6379 } } }] }]
`,
    },
  ]);
  const table = compileGatewayTcpRoutes(
    yaml.resources.filter((r): r is MeshResource<"Gateway"> => r.kind === "Gateway"),
    yaml.resources.filter((r): r is MeshResource<"VirtualService"> => r.kind === "VirtualService"),
    [],
    { namespace: "istio-system", domainSuffix: "cluster.local" },
  ).get("istio-system/edge");
  const route = (serverHosts: readonly string[] | undefined): string | undefined =>
    table && findGatewayTcpRoute(table, { port: 9443, sni: undefined, ...connection, serverHosts })?.virtualService;

  it("applies only the VirtualServices whose hosts overlap the server's", () => {
    expect(yaml.issues).toEqual([]);
    expect(route(["queue.example.com"])).toBe("default/queue");
    expect(route(["db.example.com"])).toBe("default/db");
    expect(route(["cache.internal"])).toBe("default/internal");
    expect(route(["*.example.com"])).toBe("default/db");
    expect(route(["*.other.org"])).toBeUndefined();
    // Without a server (or with `*`), every bound VirtualService applies, in input order.
    expect(route(undefined)).toBe("default/db");
    expect(route(["*"])).toBe("default/db");
  });
});
