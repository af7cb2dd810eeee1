// buildConnectionCheckRequest: encoded with libs/protocol's codec and decoded with the tests' own
// text of Envoy's protos (tests/support/envoy-ext-authz.proto), as buildCheckRequest's test does.
import { ExtAuthzCheckRequest } from "@meshwork/protocol";
import { describe, expect, it } from "vitest";
import { decodeCheckRequest, type Message } from "../../tests/support/ext-authz-grpc-server.ts";
import { buildConnectionCheckRequest } from "./build-connection-check-request.ts";
import type { ConnectionCheckRequest } from "./check-external.ts";

function wire(request: ConnectionCheckRequest): Message {
  return decodeCheckRequest(ExtAuthzCheckRequest.encode(buildConnectionCheckRequest(request)).finish());
}

// proto-loader names the oneof member set (`address: "socket_address"`, `port_specifier: "port_value"`).
const at = (address: string, port: number) => ({ address: "socket_address", socket_address: { address, port_value: port, port_specifier: "port_value" } });

describe("buildConnectionCheckRequest", () => {
  it("describes both ends of a mutual-TLS connection with their SPIFFE IDs and the SNI as the destination's service", () => {
    const attributes = wire({
      source: { address: "10.0.0.5", port: 40512, principal: "spiffe://cluster.local/ns/shop/sa/frontend" },
      destination: { address: "10.0.0.9", port: 5432, principal: "spiffe://cluster.local/ns/shop/sa/db" },
      requestedServerName: "outbound_.5432_._.db.shop.svc.cluster.local",
    })["attributes"];
    expect(attributes.source).toEqual({ address: at("10.0.0.5", 40512), principal: "spiffe://cluster.local/ns/shop/sa/frontend" });
    expect(attributes.destination).toEqual({
      address: at("10.0.0.9", 5432),
      principal: "spiffe://cluster.local/ns/shop/sa/db",
      service: "outbound_.5432_._.db.shop.svc.cluster.local",
    });
  });

  it("carries no request attributes: no time, no HTTP request", () => {
    const attributes = wire({ source: { address: "10.0.0.5", port: 40512 }, destination: { address: "10.0.0.9", port: 5432 } })["attributes"];
    expect(attributes.request).toBeUndefined();
    expect(attributes.source.principal).toBeUndefined();
    expect(attributes.destination.service).toBeUndefined();
  });
});
