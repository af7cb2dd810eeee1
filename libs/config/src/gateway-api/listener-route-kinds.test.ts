import { describe, expect, it } from "vitest";
import { listenerRouteKinds } from "./listener-route-kinds.ts";

describe("listenerRouteKinds", () => {
  it("gives HTTP and HTTPS listeners HTTPRoute and GRPCRoute, TLS TLSRoute, TCP TCPRoute", () => {
    expect(listenerRouteKinds("HTTP")).toEqual(["HTTPRoute", "GRPCRoute"]);
    expect(listenerRouteKinds("HTTPS")).toEqual(["HTTPRoute", "GRPCRoute"]);
    expect(listenerRouteKinds("TLS")).toEqual(["TLSRoute"]);
    expect(listenerRouteKinds("TCP")).toEqual(["TCPRoute"]);
  });

  it("gives a protocol Meshwork does not serve no kinds", () => {
    expect(listenerRouteKinds("UDP")).toEqual([]);
    expect(listenerRouteKinds("http")).toEqual([]);
  });
});
