// The forwarding headers an ingress gateway writes on each request it sends upstream, as Istio's
// gateway Envoy does with use_remote_address: true and xff_num_trusted_hops =
// gatewayTopology.numTrustedProxies (Envoy's config_http_conn_man_headers and
// conn_manager_utility.cc, mutateRequestHeaders): X-Forwarded-For gets the immediate downstream
// peer appended (skip_xff_append is false), x-forwarded-proto is the downstream connection's scheme
// unless a trusted proxy set it, and the request is "internal" (x-envoy-internal: true) or comes
// from the edge (x-envoy-external-address: the trusted client address). Sidecars (use_remote_address
// false) write none of this. Pure.
import type { HeaderOps } from "@meshwork/proxy-core";
import { forwardedClientAddress } from "./forwarded-client-address.ts";

export interface GatewayDownstream {
  /** The downstream peer's IP: the TCP peer, or the client a PROXY protocol header named. */
  readonly remoteIp: string;
  /** The gateway's own address on the connection (appended instead of a loopback peer, as Envoy appends its local address). */
  readonly localIp: string | undefined;
  /** Whether the downstream connection is TLS the gateway terminated. */
  readonly isTls: boolean;
  readonly numTrustedProxies: number;
}

/**
 * The header changes for a request whose X-Forwarded-For (repeated headers joined with ",") and
 * x-forwarded-proto are `forwardedFor` and `forwardedProto` (undefined when absent). Applied
 * before the route's own header operations, which may still override them (Envoy mutates the
 * request in the connection manager, before routing).
 */
export function gatewayForwardedHeaders(forwardedFor: string | undefined, forwardedProto: string | undefined, downstream: GatewayDownstream): HeaderOps {
  const { remoteIp, numTrustedProxies } = downstream;
  // The trusted client address is read before the append (Envoy: getLastAddressFromXFF, then appendXff).
  const clientIp = forwardedClientAddress(remoteIp, forwardedFor, numTrustedProxies);
  const appended = isLoopback(remoteIp) && downstream.localIp !== undefined ? downstream.localIp : remoteIp;
  const set: [string, string][] = [["x-forwarded-for", forwardedFor === undefined || forwardedFor === "" ? appended : `${forwardedFor},${appended}`]];
  // A proxy that is not trusted does not get to say the scheme.
  if (numTrustedProxies === 0 || forwardedProto === undefined) set.push(["x-forwarded-proto", downstream.isTls ? "https" : "http"]);
  // Internal: after the append X-Forwarded-For holds a single address, and it is internal.
  const remove: string[] = [];
  if (forwardedFor === undefined && isInternalAddress(clientIp)) set.push(["x-envoy-internal", "true"]);
  else {
    // An edge request: a client's own x-envoy-internal is not believed; the gateway names the client it trusts.
    remove.push("x-envoy-internal");
    set.push(["x-envoy-external-address", clientIp]);
  }
  return { remove, set, add: [] };
}

/** 127.0.0.0/8 and ::1, also IPv4-mapped (Envoy's Network::Utility::isLoopbackAddress). */
function isLoopback(ip: string): boolean {
  const v4 = ip.startsWith("::ffff:") ? ip.slice(7) : ip;
  return v4.startsWith("127.") || ip === "::1";
}

/**
 * Envoy's default internal addresses (Network::Utility::isInternalAddress, used while the HTTP
 * connection manager's internal_address_config lists no ranges): RFC 1918, 127.0.0.1, fd00::/8 and ::1.
 */
export function isInternalAddress(ip: string): boolean {
  const v4 = ip.startsWith("::ffff:") && ip.includes(".") ? ip.slice(7) : ip;
  if (v4.includes(".")) {
    const [a = -1, b = -1] = v4.split(".").map(Number);
    return a === 10 || (a === 192 && b === 168) || (a === 172 && b >= 16 && b <= 31) || v4 === "127.0.0.1";
  }
  const lower = ip.toLowerCase();
  return lower === "::1" || (lower.startsWith("fd") && lower.indexOf(":") === 4);
}
