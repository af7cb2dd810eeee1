// The cluster of a connection on a gateway's passthrough, TCP or TLS-terminating port (router
// mode). On a passthrough port, an SNI naming a mesh cluster (`outbound_.<port>_.<subset>_.<host>`)
// whose host an AUTO_PASSTHROUGH server lists goes to that cluster; otherwise the SNI picks the
// Gateway server (serverForSni) and that Gateway's `tls` routes pick the destination. On a TCP
// port the servers' Gateways are tried in order for a `tcp` route of the port. On a port that
// terminates TLS, the SNI of the handshake picks the server ("" picks a `*` server) and that
// Gateway's `tcp` routes of the port pick the destination. No route: refused (NR), as Istio's
// gateway has no filter chain for it; a route to a cluster that does not exist: refused (NC).
import { clusterOfSni, findGatewayTcpRoute, serverAdmitsHost, serverForSni, type GatewayListener, type GatewayServer, type TcpRouteTable } from "@meshwork/proxy-core";
import { routeCluster, type TcpChoice, type TcpSnapshot } from "./choose-tcp-cluster.ts";

export function chooseGatewayTcpCluster(
  snapshot: Pick<TcpSnapshot, "namespace" | "proxyLabels" | "clusters">,
  tables: ReadonlyMap<string, TcpRouteTable> | undefined,
  listener: GatewayListener,
  sni: string | undefined,
  random: () => number,
): TcpChoice {
  let servers: readonly GatewayServer[] = listener.servers;
  const asked = listener.mode === "passthrough" && sni !== undefined ? clusterOfSni(sni) : undefined;
  if (asked && listener.servers.some((server) => server.autoPassthrough && serverAdmitsHost(server.hosts, asked.host))) {
    const cluster = snapshot.clusters.get(asked.cluster);
    // The client is a sidecar whose mutual TLS runs to the endpoint's sidecar: no TLS of ours around it (Istio's sni-dnat clusters have none).
    return cluster ? { type: "cluster", cluster, routeName: "auto_passthrough", clientTls: true } : { type: "refuse", flag: "NR", status: 404, routeName: "", cluster: asked.cluster };
  }
  if (listener.mode === "passthrough" || listener.mode === "terminated-tcp") {
    const name = listener.mode === "terminated-tcp" ? (sni ?? "") : sni;
    const chosen = name === undefined ? undefined : listener.servers[serverForSni(listener.servers, name)];
    servers = chosen ? [chosen] : [];
  }
  for (const server of servers) {
    const table = tables?.get(server.gateway);
    const route =
      table &&
      findGatewayTcpRoute(table, { port: listener.port, sni: listener.mode === "passthrough" ? sni : undefined, sourceLabels: snapshot.proxyLabels, sourceNamespace: snapshot.namespace, serverHosts: server.hosts });
    if (route) return routeCluster(snapshot.clusters, route, listener.port, random);
  }
  return { type: "refuse", flag: "NR", status: 404, routeName: "", cluster: "" };
}
