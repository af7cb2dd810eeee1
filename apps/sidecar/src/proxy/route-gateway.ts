// Router mode's decision (the ingress gateway): a request on a Gateway listener port is routed
// through the first Gateway server on that port whose hosts admit its authority, with that
// Gateway's VirtualServices (RouteTable.gateways["<ns>/<name>"]); a host no server admits, or no
// VirtualService of an admitting Gateway covers, is 404 NR — gateways never pass traffic through.
// On TLS the gateway terminated, only the server the client's SNI chose applies (Istio gives each
// HTTPS server its own filter chain and routes). An HTTP server with `httpsRedirect` answers
// every request it admits with a 301 to the same URL over https, as Envoy's `require_tls: ALL`.
import { serverAdmitsHost, serverForSni, type GatewayListener } from "@meshwork/proxy-core";
import type { ProxySnapshot } from "./proxy-snapshot.ts";
import { routeOutbound, type Decision, type RequestContext } from "./route-request.ts";

const notRouted: Decision = Object.freeze({ type: "reply", status: 404, flag: "NR", body: "", headers: [], routeName: "", details: "route_not_found" });

/** `serverName`: the SNI of the connection's TLS ("" without one); undefined on a plain-text port. */
export function routeGateway(snapshot: ProxySnapshot, listener: GatewayListener, context: RequestContext, serverName?: string): Decision {
  const authority = context.head.authority;
  if (serverName !== undefined) {
    const server = listener.servers[serverForSni(listener.servers, serverName)];
    return server && serverAdmitsHost(server.hosts, authority) ? routeOutbound(snapshot, context, server.gateway) : notRouted;
  }
  for (const server of listener.servers) {
    if (!serverAdmitsHost(server.hosts, authority)) continue;
    if (server.httpsRedirect) {
      const { path, query } = context.head;
      return { type: "reply", status: 301, flag: "", body: "", headers: [`location: https://${authority}${path}${query === "" ? "" : `?${query}`}`], routeName: "", details: "https_redirect" };
    }
    const decision = routeOutbound(snapshot, context, server.gateway);
    if (decision.type !== "reply" || decision.flag !== "NR") return decision;
  }
  return notRouted;
}
