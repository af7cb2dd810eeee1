// Router mode's decision (the ingress gateway): a request on a Gateway listener port is routed
// through the first Gateway server on that port whose hosts admit its authority, with that
// Gateway's VirtualServices (RouteTable.gateways["<ns>/<name>"]); a host no server admits, or no
// VirtualService of an admitting Gateway covers, is 404 NR — gateways never pass traffic through.
import { serverAdmitsHost, type GatewayListener } from "@meshwork/proxy-core";
import type { ProxySnapshot } from "./proxy-snapshot.ts";
import { routeOutbound, type Decision, type RequestContext } from "./route-request.ts";

const notRouted: Decision = Object.freeze({ type: "reply", status: 404, flag: "NR", body: "", headers: [], routeName: "", details: "route_not_found" });

export function routeGateway(snapshot: ProxySnapshot, listener: GatewayListener, context: RequestContext): Decision {
  for (const server of listener.servers) {
    if (!serverAdmitsHost(server.hosts, context.head.authority)) continue;
    const decision = routeOutbound(snapshot, context, server.gateway);
    if (decision.type !== "reply" || decision.flag !== "NR") return decision;
  }
  return notRouted;
}
