// Who sent a request to a gateway port (router mode), as AuthorizationPolicy sees it on Istio's
// ingress gateway: `source.ip` the TCP peer, `remote.ip` the client X-Forwarded-For names behind
// numTrustedProxies trusted proxies (forwarded-client-address.ts) — else the client a PROXY
// protocol header named, else the TCP peer — `destination.port` the port the
// gateway listens on, `source.principal` the client certificate's identity only when the gateway
// server verified one (ISTIO_MUTUAL, MUTUAL, OPTIONAL_MUTUAL with a certificate; SIMPLE and plain
// text have none), `connection.sni` the SNI of TLS the gateway terminated, and the scheme (the JWT
// 401's realm) that of the connection.
import type { RequestHead } from "../http1/parse-request-head.ts";
import type { DownstreamSecurity } from "../tls/inbound-tls.ts";
import { forwardedClientAddress } from "./forwarded-client-address.ts";
import type { InboundPeer } from "./inbound-security.ts";
import { headerRecord } from "./route-request.ts";
import type { ArrivalConnection } from "./socket-address.ts";

export interface GatewayRequestArrival {
  /** The TCP peer's address (`source.ip`; the load balancer's with the PROXY protocol). */
  readonly sourceIp: string;
  /** The client a PROXY protocol header named (the base of `remote.ip`); undefined = sourceIp. */
  readonly downstreamIp?: string | undefined;
  /** The client certificate the gateway's TLS verified; undefined without one. */
  readonly security: DownstreamSecurity | undefined;
  /** The SNI of TLS the gateway terminated ("" without SNI); undefined on a plain-text port. */
  readonly serverName: string | undefined;
  readonly connection: ArrivalConnection | undefined;
  /** The Gateway port the request arrived on. */
  readonly port: number;
  /** gatewayTopology.numTrustedProxies: proxies in front of the gateway whose X-Forwarded-For entries are trusted. */
  readonly numTrustedProxies: number;
  /** The gateway's own SPIFFE ID (the external authorizer's destination principal on mutual TLS). */
  readonly localSpiffeId: string | undefined;
}

export function gatewayRequestPeer(head: RequestHead, arrival: GatewayRequestArrival): InboundPeer {
  const { sourceIp, security } = arrival;
  const trusted = arrival.numTrustedProxies > 0;
  const headers = trusted ? headerRecord(head) : undefined;
  const downstreamIp = arrival.downstreamIp ?? sourceIp;
  const remoteIp = headers ? forwardedClientAddress(downstreamIp, headers["x-forwarded-for"], arrival.numTrustedProxies) : downstreamIp;
  return {
    sourceIp,
    remoteIp,
    principal: security?.peerPrincipal,
    destinationPort: arrival.port,
    connection: arrival.connection,
    localSpiffeId: security ? arrival.localSpiffeId : undefined,
    sni: arrival.serverName === undefined || arrival.serverName === "" ? undefined : arrival.serverName,
    // Envoy keeps x-forwarded-proto from a trusted proxy, else sets the downstream connection's
    // scheme (conn_manager_utility.cc): undefined lets the header count.
    scheme: headers?.["x-forwarded-proto"] !== undefined ? undefined : arrival.serverName === undefined ? "http" : "https",
  };
}
