import { describe, expect, it } from "vitest";
import { formatPath } from "../check-value.ts";
import { checkEndpoint } from "./endpoints.ts";

describe("checkEndpoint", () => {
  it("rejects host names where only IPs are allowed and ports the service does not declare", () => {
    const entry = { address: "vm1.example.com", ports: { grpc: 9090 } };
    expect(checkEndpoint(entry, ["spec", "endpoints", 0], { allowDnsName: false, servicePortNames: new Set(["http"]) }).map((i) => formatPath(i.path))).toEqual([
      "spec.endpoints[0].address",
      "spec.endpoints[0].ports.grpc",
    ]);
  });
});
