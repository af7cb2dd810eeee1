import { describe, expect, it } from "vitest";
import { isHttpProtocol, isTlsProtocol, protocolIssue } from "./protocols.ts";

describe("protocols", () => {
  it("accepts the protocols Istio knows in any case, and suggests the near one", () => {
    expect(["http", "GRPC-WEB", "tcp", "Mongo", undefined, ""].map((p) => protocolIssue(p, ["protocol"]))).toEqual([undefined, undefined, undefined, undefined, undefined, undefined]);
    expect(protocolIssue("HTTPX", ["protocol"])).toEqual({ path: ["protocol"], message: '"HTTPX" is not a protocol Istio knows', hint: "did you mean HTTP?" });
  });

  it("sorts protocols into the HTTP and TLS families", () => {
    expect(["HTTP", "http2", "HTTP_PROXY", "GRPC", "grpc-web"].every(isHttpProtocol)).toBe(true);
    expect(["HTTPS", "TLS", "TCP", undefined].some(isHttpProtocol)).toBe(false);
    expect(["HTTPS", "tls"].every(isTlsProtocol)).toBe(true);
    expect(["HTTP", "TCP", undefined].some(isTlsProtocol)).toBe(false);
  });
});
