// buildCheckRequest: the CheckRequest is encoded with libs/protocol's codec and decoded with the
// tests' own text of Envoy's protos (tests/support/envoy-ext-authz.proto, read by
// @grpc/proto-loader), so every field below is checked at Envoy's field number.
import { ExtAuthzCheckRequest } from "@meshwork/protocol";
import { describe, expect, it } from "vitest";
import { decodeCheckRequest, type Message } from "../../tests/support/ext-authz-grpc-server.ts";
import { buildCheckRequest } from "./build-check-request.ts";
import type { ExternalCheckRequest } from "./check-external.ts";
import type { ExtAuthzGrpcProvider, ExtAuthzRequestBody } from "./mesh-authz-config.ts";

const provider = (includeRequestBodyInCheck?: ExtAuthzRequestBody): ExtAuthzGrpcProvider => ({
  type: "grpc",
  name: "opa",
  service: "opa.opa.svc.cluster.local",
  port: 9191,
  timeoutMs: 1_000,
  failOpen: false,
  statusOnError: 403,
  includeRequestBodyInCheck,
});

const request: ExternalCheckRequest = {
  method: "POST",
  path: "/api/orders?id=7",
  host: "orders.shop:8000",
  headers: {
    host: "orders.shop:8000",
    "x-ext-authz": "allow",
    accept: "a/b,c/d",
    "x-envoy-peer-metadata": "CgQ=",
    "x-envoy-peer-metadata-id": "sidecar~1",
    "x-envoy-auth-partial-body": "forged",
    "x-envoy-downstream-service-cluster": "frontend",
  },
  source: { address: "10.0.0.5", port: 40512, principal: "spiffe://cluster.local/ns/shop/sa/frontend" },
  destination: { address: "10.0.0.9", port: 15006, principal: "spiffe://cluster.local/ns/shop/sa/orders" },
  scheme: "https",
  protocol: "HTTP/2",
  receivedAtMs: Date.UTC(2026, 0, 2, 3, 4, 5, 678),
};

function wire(check: ExternalCheckRequest, body?: ExtAuthzRequestBody): Message {
  const message = buildCheckRequest(provider(body), check, { nowMs: 0, id: "13260287474620349870" });
  return decodeCheckRequest(ExtAuthzCheckRequest.encode(message).finish());
}

describe("buildCheckRequest", () => {
  it("describes both ends of the connection with their SPIFFE IDs (AttributeContext.Peer)", () => {
    const attributes = wire(request)["attributes"];
    // proto-loader names the oneof member set (`address: "socket_address"`, `port_specifier: "port_value"`).
    const at = (address: string, port: number) => ({ address: "socket_address", socket_address: { address, port_value: port, port_specifier: "port_value" } });
    expect(attributes.source).toEqual({ address: at("10.0.0.5", 40512), principal: "spiffe://cluster.local/ns/shop/sa/frontend", service: "frontend" });
    expect(attributes.destination).toEqual({ address: at("10.0.0.9", 15006), principal: "spiffe://cluster.local/ns/shop/sa/orders" });
  });

  it("sends the HTTP request as Envoy does: stream id, method, path with query, host, scheme, protocol, size and time", () => {
    const attributes = wire(request)["attributes"];
    const { headers, ...http } = attributes.request.http;
    expect(http).toEqual({ id: "13260287474620349870", method: "POST", path: "/api/orders?id=7", host: "orders.shop:8000", scheme: "https", protocol: "HTTP/2" });
    expect(attributes.request.time).toEqual({ seconds: Date.UTC(2026, 0, 2, 3, 4, 5) / 1000, nanos: 678_000_000 });
    expect(headers).toBeDefined();
  });

  it("sends every header with the pseudo-headers, Host as :authority, without the metadata exchange's and a forged partial-body header", () => {
    const headers = wire(request)["attributes"].request.http.headers;
    expect(headers).toEqual({
      ":authority": "orders.shop:8000",
      ":method": "POST",
      ":path": "/api/orders?id=7",
      ":scheme": "https",
      "x-ext-authz": "allow",
      accept: "a/b,c/d",
      "x-envoy-downstream-service-cluster": "frontend",
    });
  });

  it("sends an empty metadata_context and no context_extensions (Istio configures none)", () => {
    const attributes = wire(request)["attributes"];
    expect(attributes.metadata_context).toEqual({});
    expect(attributes.context_extensions).toBeUndefined();
  });

  it("leaves out what it does not know: no peers, plain http, the check's own time", () => {
    const message = buildCheckRequest(provider(), { method: "GET", path: "/", host: "h", headers: {} }, { nowMs: 1_500, id: "1" });
    const attributes = decodeCheckRequest(ExtAuthzCheckRequest.encode(message).finish())["attributes"];
    expect(attributes.source).toBeUndefined();
    expect(attributes.destination).toBeUndefined();
    expect(attributes.request.time).toEqual({ seconds: 1, nanos: 500_000_000 });
    expect(attributes.request.http.scheme).toBe("http");
    expect(attributes.request.http.headers).toEqual({ ":authority": "h", ":method": "GET", ":path": "/", ":scheme": "http" });
  });

  it("sends the body as text, or as raw_body with packAsBytes, cut at maxRequestBytes and flagged partial", () => {
    const body = Buffer.from("héllo world");
    const text = wire({ ...request, body, bodyComplete: true }, { maxRequestBytes: 100, allowPartialMessage: false, packAsBytes: false })["attributes"].request.http;
    expect(text.body).toBe("héllo world");
    expect(text.raw_body).toBeUndefined();
    expect(text.size).toBe(body.length);
    expect(text.headers["x-envoy-auth-partial-body"]).toBe("false");
    const raw = wire({ ...request, body, bodyComplete: true }, { maxRequestBytes: 5, allowPartialMessage: true, packAsBytes: true })["attributes"].request.http;
    expect(raw.raw_body).toEqual(body.subarray(0, 5));
    expect(raw.body).toBeUndefined();
    expect(raw.headers["x-envoy-auth-partial-body"]).toBe("true");
  });

  it("sends no body when the provider does not ask for one", () => {
    const http = wire({ ...request, body: Buffer.from("secret") })["attributes"].request.http;
    expect(http.body).toBeUndefined();
    expect(http.raw_body).toBeUndefined();
    expect(http.headers["x-envoy-auth-partial-body"]).toBeUndefined();
  });
});
