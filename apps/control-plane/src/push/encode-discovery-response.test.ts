import { DiscoveryResponse } from "@meshwork/protocol";
import { describe, expect, it } from "vitest";
import { discoveryService, encodeDiscoveryResponse } from "./encode-discovery-response.ts";

const resource = (name: string, body: string) => ({ name, body: Buffer.from(body) });

describe("encodeDiscoveryResponse", () => {
  it("decodes to the message it encodes, whatever the header", () => {
    const resources = [resource("a", '{"x":1}'), resource("b", '{"y":2}')];
    for (const nonce of ["cp-1", "cp-2"]) {
      const message = { typeUrl: "type.meshwork.io/mesh.discovery.v1.Cluster", versionInfo: "v1", nonce, resources, controlPlaneId: "cp" };
      expect(DiscoveryResponse.decode(encodeDiscoveryResponse(message))).toEqual(DiscoveryResponse.decode(DiscoveryResponse.encode(message).finish()));
    }
  });

  it("reuses a resource's encoding only for the same body and name (no stale bytes)", () => {
    const body = Buffer.from("1");
    const header = { typeUrl: "t", versionInfo: "v", nonce: "n", controlPlaneId: "cp" };
    const decode = (resources: { name: string; body: Buffer }[]) => DiscoveryResponse.decode(encodeDiscoveryResponse({ ...header, resources })).resources.map((r) => `${r.name}=${r.body.toString()}`);
    expect(decode([{ name: "a", body }])).toEqual(["a=1"]);
    expect(decode([{ name: "b", body }])).toEqual(["b=1"]);
    expect(decode([{ name: "a", body: Buffer.from("2") }, { name: "a", body }])).toEqual(["a=2", "a=1"]);
    expect(decode([])).toEqual([]);
  });

  it("is the response serializer of the service definition", () => {
    expect(discoveryService.streamConfig.responseSerialize).toBe(encodeDiscoveryResponse);
    expect(discoveryService.streamConfig.path).toBe("/mesh.discovery.v1.DiscoveryService/StreamConfig");
  });
});
