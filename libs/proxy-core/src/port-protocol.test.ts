import { describe, expect, it } from "vitest";
import { portProtocol } from "./port-protocol.ts";

describe("portProtocol", () => {
  it("takes the explicit protocol first, case-insensitively", () => {
    expect(portProtocol("HTTP", "grpc-x")).toBe("http");
    expect(portProtocol("grpc-web", undefined)).toBe("grpc");
    expect(portProtocol("https", "http")).toBe("tls");
    expect(portProtocol("MONGO", "db")).toBe("tcp");
    expect(portProtocol("UDP", "http")).toBe("unknown");
  });

  it("falls back to the port name's prefix (Istio's naming convention)", () => {
    expect(portProtocol(undefined, "http")).toBe("http");
    expect(portProtocol(undefined, "http-web")).toBe("http");
    expect(portProtocol(undefined, "http2-api")).toBe("http2");
    expect(portProtocol("", "grpc")).toBe("grpc");
    expect(portProtocol(undefined, "tcp-db")).toBe("tcp");
    expect(portProtocol(undefined, "tls-passthrough")).toBe("tls");
  });

  it("is unknown (sniffed) without a hint", () => {
    expect(portProtocol(undefined, "web")).toBe("unknown");
    expect(portProtocol(undefined, "httpx")).toBe("unknown");
    expect(portProtocol(undefined, undefined)).toBe("unknown");
  });
});
