import { describe, expect, it } from "vitest";
import { gatewayForwardedHeaders, isInternalAddress } from "./gateway-forwarded-headers.ts";

const downstream = (remoteIp: string, options: { isTls?: boolean; numTrustedProxies?: number; localIp?: string } = {}) => ({
  remoteIp,
  localIp: options.localIp ?? "10.1.2.3",
  isTls: options.isTls ?? false,
  numTrustedProxies: options.numTrustedProxies ?? 0,
});

describe("gatewayForwardedHeaders", () => {
  // The edge-proxy examples of Envoy's x-forwarded-for documentation (use_remote_address: true).
  it("example 1: no trusted hops — appends the peer, the peer is the external address", () => {
    const ops = gatewayForwardedHeaders("203.0.113.128, 203.0.113.10, 203.0.113.1", undefined, downstream("192.0.2.5"));
    expect(Object.fromEntries(ops.set)).toEqual({
      "x-forwarded-for": "203.0.113.128, 203.0.113.10, 203.0.113.1,192.0.2.5",
      "x-forwarded-proto": "http",
      "x-envoy-external-address": "192.0.2.5",
    });
    expect(ops.remove).toEqual(["x-envoy-internal"]);
  });

  it("example 3: two trusted hops — the external address is the 2nd from the right before the append", () => {
    const ops = gatewayForwardedHeaders("203.0.113.128, 203.0.113.10, 203.0.113.1", "https", downstream("192.0.2.5", { numTrustedProxies: 2 }));
    // A trusted proxy's x-forwarded-proto stays.
    expect(Object.fromEntries(ops.set)).toEqual({ "x-forwarded-for": "203.0.113.128, 203.0.113.10, 203.0.113.1,192.0.2.5", "x-envoy-external-address": "203.0.113.10" });
  });

  it("creates X-Forwarded-For when absent; an external client without one gets its own address as external", () => {
    expect(Object.fromEntries(gatewayForwardedHeaders(undefined, undefined, downstream("198.51.100.7", { isTls: true })).set)).toEqual({
      "x-forwarded-for": "198.51.100.7",
      "x-forwarded-proto": "https",
      "x-envoy-external-address": "198.51.100.7",
    });
  });

  it("an untrusted client's x-forwarded-proto is overwritten with the connection's scheme", () => {
    expect(Object.fromEntries(gatewayForwardedHeaders(undefined, "https", downstream("198.51.100.7")).set)["x-forwarded-proto"]).toBe("http");
    // Trusted hops but no header from them: the connection's scheme.
    expect(Object.fromEntries(gatewayForwardedHeaders("198.51.100.1", undefined, downstream("10.0.0.1", { numTrustedProxies: 1, isTls: true })).set)["x-forwarded-proto"]).toBe("https");
  });

  it("a single internal address is an internal request: x-envoy-internal, no external address", () => {
    const ops = gatewayForwardedHeaders(undefined, undefined, downstream("10.4.0.9"));
    expect(Object.fromEntries(ops.set)).toEqual({ "x-forwarded-for": "10.4.0.9", "x-forwarded-proto": "http", "x-envoy-internal": "true" });
    expect(ops.remove).toEqual([]);
  });

  it("an internal peer with X-Forwarded-For already set is not internal (more than one address)", () => {
    expect(Object.fromEntries(gatewayForwardedHeaders("10.9.9.9", undefined, downstream("10.4.0.9")).set)).toMatchObject({ "x-envoy-external-address": "10.4.0.9" });
  });

  it("a loopback peer appends the gateway's local address, as Envoy does", () => {
    expect(Object.fromEntries(gatewayForwardedHeaders("203.0.113.1", undefined, downstream("127.0.0.5", { localIp: "10.1.2.3" })).set)["x-forwarded-for"]).toBe("203.0.113.1,10.1.2.3");
    expect(Object.fromEntries(gatewayForwardedHeaders(undefined, undefined, downstream("::1", { localIp: "::1" })).set)["x-forwarded-for"]).toBe("::1");
  });
});

describe("isInternalAddress (Envoy's default internal ranges)", () => {
  it.each([
    ["10.0.0.1", true],
    ["172.16.0.1", true],
    ["172.31.255.255", true],
    ["172.32.0.1", false],
    ["192.168.1.1", true],
    ["127.0.0.1", true],
    ["127.0.0.2", false],
    ["::ffff:10.1.1.1", true],
    ["203.0.113.7", false],
    ["::1", true],
    ["fd12:3456::1", true],
    ["fd::1", false],
    ["2001:db8::1", false],
  ] as const)("%s → %s", (ip, internal) => {
    expect(isInternalAddress(ip)).toBe(internal);
  });
});
