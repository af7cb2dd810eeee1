import { loadResources, type MeshResource } from "@meshwork/config";
import { compileGatewayTcpRoutes, gatewayListeners, type GatewayListener } from "@meshwork/proxy-core";
import { describe, expect, it } from "vitest";
import type { ClusterRuntime } from "../proxy/cluster-runtime.ts";
import { chooseGatewayTcpCluster } from "./choose-gateway-tcp-cluster.ts";

// Two Gateways terminating TLS on port 9443 (db.example.com, and `*` as the fallback) with a
// VirtualService `tcp` route bound to each, and a TCP server whose Gateway has no route.
const loaded = loadResources([
  {
    path: "gw.yaml",
    text: `
apiVersion: networking.istio.io/v1
kind: Gateway
metadata: { name: db, namespace: istio-system }
spec:
  selector: { istio: ingressgateway }
  servers:
  - port: { number: 9443, name: tls-db, protocol: TLS }
    tls: { mode: SIMPLE, credentialName: db }
    hosts: [db.example.com]
---
apiVersion: networking.istio.io/v1
kind: Gateway
metadata: { name: fallback, namespace: istio-system }
spec:
  selector: { istio: ingressgateway }
  servers:
  - port: { number: 9443, name: tls-any, protocol: TLS }
    tls: { mode: SIMPLE, credentialName: any }
    hosts: ["*"]
  - port: { number: 9000, name: tcp, protocol: TCP }
    hosts: ["*"]
---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: { name: db, namespace: default }
spec:
  hosts: ["*"]
  gateways: [istio-system/db]
  tcp:
  - match: [{ port: 9443 }]
    route: [{ destination: { host: db, port: { number: 5432 } } }]
---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: { name: echo, namespace: default }
spec:
  hosts: ["*"]
  gateways: [istio-system/fallback]
  tcp:
  - match: [{ port: 9443 }]
    route: [{ destination: { host: echo, port: { number: 9000 } } }]
`,
  },
]);
const gateways = loaded.resources.filter((r): r is MeshResource<"Gateway"> => r.kind === "Gateway");
const virtualServices = loaded.resources.filter((r): r is MeshResource<"VirtualService"> => r.kind === "VirtualService");
const tables = compileGatewayTcpRoutes(gateways, virtualServices, [], { namespace: "istio-system", domainSuffix: "cluster.local" });
const { listeners } = gatewayListeners(gateways, { istio: "ingressgateway" });
const listener = (port: number): GatewayListener => listeners.find((l) => l.port === port) as GatewayListener;
const clusterNames = ["outbound|5432||db.default.svc.cluster.local", "outbound|9000||echo.default.svc.cluster.local"];
const snapshot = {
  namespace: "istio-system",
  proxyLabels: { istio: "ingressgateway" },
  clusters: new Map(clusterNames.map((name) => [name, { name } as unknown as ClusterRuntime])),
};
/** The cluster (or the refusal's flag) for a connection with `sni` on `port`. */
const choose = (port: number, sni: string | undefined): string => {
  const choice = chooseGatewayTcpCluster(snapshot, tables, listener(port), sni, () => 0);
  return choice.type === "cluster" ? `${choice.cluster.name} (${choice.routeName})` : `refused ${choice.flag}`;
};

describe("chooseGatewayTcpCluster on a port that terminates TLS", () => {
  it("binds both Gateways' servers to one terminating port", () => {
    expect(loaded.issues).toEqual([]);
    expect(listener(9443).mode).toBe("terminated-tcp");
  });

  it("routes with the tcp routes of the Gateway whose server the SNI chose", () => {
    expect(choose(9443, "db.example.com")).toBe("outbound|5432||db.default.svc.cluster.local (default/db tcp[0])");
    expect(choose(9443, "DB.example.com")).toBe("outbound|5432||db.default.svc.cluster.local (default/db tcp[0])");
    expect(choose(9443, "other.example.com")).toBe("outbound|9000||echo.default.svc.cluster.local (default/echo tcp[0])");
  });

  it("gives a connection without SNI the * server's routes", () => {
    expect(choose(9443, "")).toBe("outbound|9000||echo.default.svc.cluster.local (default/echo tcp[0])");
    expect(choose(9443, undefined)).toBe("outbound|9000||echo.default.svc.cluster.local (default/echo tcp[0])");
  });

  it("refuses with NR when the chosen server's Gateway has no tcp route for the port", () => {
    expect(choose(9000, undefined)).toBe("refused NR");
    const dbOnly: GatewayListener = { ...listener(9443), servers: listener(9443).servers.filter((server) => server.gateway === "istio-system/db") };
    expect(chooseGatewayTcpCluster(snapshot, tables, dbOnly, "other.example.com", () => 0)).toMatchObject({ type: "refuse", flag: "NR" });
  });
});
