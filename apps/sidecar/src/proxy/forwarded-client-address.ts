// The original client's address behind trusted proxies (AuthorizationPolicy `remote.ip`,
// `remoteIpBlocks`), as a gateway's Envoy finds it: Istio configures gateways with
// use_remote_address and xff_num_trusted_hops = gatewayTopology.numTrustedProxies, and Envoy then
// trusts the address `numTrustedProxies` entries from the right end of X-Forwarded-For
// (envoy/source/common/http/conn_manager_utility.cc, Utility::getLastAddressFromXFF).
import { isIP } from "node:net";

/**
 * `remote.ip` of a request: with `numTrustedProxies` N > 0, the Nth address from the right of
 * `forwardedFor` (repeated X-Forwarded-For headers joined with ","); otherwise, and when the header
 * has fewer than N entries or that entry is not an IP address, the TCP peer `peerIp`.
 */
export function forwardedClientAddress(peerIp: string, forwardedFor: string | undefined, numTrustedProxies: number): string {
  if (numTrustedProxies <= 0 || forwardedFor === undefined) return peerIp;
  let end = forwardedFor.length;
  // Skip the N-1 rightmost entries: the proxies the trusted one appended.
  for (let skipped = 1; skipped < numTrustedProxies; skipped++) {
    const comma = end === 0 ? -1 : forwardedFor.lastIndexOf(",", end - 1);
    if (comma < 0) return peerIp;
    end = comma;
  }
  const comma = end === 0 ? -1 : forwardedFor.lastIndexOf(",", end - 1);
  // Whitespace around entries is allowed in HTTP lists (RFC 7239 §7.1); Envoy trims it.
  const entry = forwardedFor.slice(comma + 1, end).trim();
  return isIP(entry) === 0 ? peerIp : entry;
}
