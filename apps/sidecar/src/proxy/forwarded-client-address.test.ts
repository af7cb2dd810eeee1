import { describe, expect, it } from "vitest";
import { forwardedClientAddress } from "./forwarded-client-address.ts";

// [case, peer, X-Forwarded-For, numTrustedProxies, remote.ip]. The first rows are the edge-proxy
// examples of Envoy's x-forwarded-for documentation (config_http_conn_man_headers, use_remote_address: true).
const cases: readonly (readonly [string, string, string | undefined, number, string])[] = [
  ["Envoy example 1: no trusted proxy, XFF ignored", "192.0.2.5", "203.0.113.128, 203.0.113.10, 203.0.113.1", 0, "192.0.2.5"],
  ["Envoy example 3: two trusted proxies, the 2nd address from the right", "192.0.2.5", "203.0.113.128, 203.0.113.10, 203.0.113.1", 2, "203.0.113.10"],
  ["one trusted proxy: the rightmost address", "10.0.0.1", "203.0.113.128,198.51.100.7", 1, "198.51.100.7"],
  ["Istio's default 0 with a header: the TCP peer", "10.0.0.1", "203.0.113.9", 0, "10.0.0.1"],
  ["trusted proxies but no header: the TCP peer", "10.0.0.1", undefined, 1, "10.0.0.1"],
  ["fewer entries than trusted proxies: the TCP peer", "10.0.0.1", "203.0.113.9", 2, "10.0.0.1"],
  ["exactly as many entries as trusted proxies: the leftmost", "10.0.0.1", "203.0.113.9, 198.51.100.1", 2, "203.0.113.9"],
  ["the trusted entry is not an address: the TCP peer", "10.0.0.1", "203.0.113.9, unknown", 1, "10.0.0.1"],
  ["an empty trusted entry: the TCP peer", "10.0.0.1", "203.0.113.9,", 1, "10.0.0.1"],
  ["an empty header: the TCP peer", "10.0.0.1", "", 1, "10.0.0.1"],
  ["an address with a port is not an address (Envoy parses IPs only)", "10.0.0.1", "203.0.113.9:4000", 1, "10.0.0.1"],
  ["IPv6 entries", "::1", "2001:db8::7 , 2001:db8::8", 2, "2001:db8::7"],
  ["tabs and spaces around entries are trimmed", "10.0.0.1", "203.0.113.9 ,\t198.51.100.4\t", 1, "198.51.100.4"],
  ["repeated headers joined with ','", "10.0.0.1", "203.0.113.9,198.51.100.4", 2, "203.0.113.9"],
];

describe("forwardedClientAddress", () => {
  it.each(cases)("%s", (_name, peer, xff, trusted, expected) => {
    expect(forwardedClientAddress(peer, xff, trusted)).toBe(expected);
  });
});
