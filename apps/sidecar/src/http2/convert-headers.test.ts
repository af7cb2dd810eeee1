import { describe, expect, it } from "vitest";
import { applyHeaderOpsTo, downstreamResponseHeaders, forwardedTrailers, upstreamRequestHeaders } from "./convert-headers.ts";

const parts = { method: "POST", target: "/new", authority: "up.test", ops: [], extraLines: "x-request-id: r1\r\ntraceparent: 00-a-b-01\r\n", expectedTimeoutMs: 500 };

describe("header conversion", () => {
  it("upstreamRequestHeaders() over HTTP/2 keeps te: trailers, drops connection-specific fields and the client's trace headers, and adds the proxy's", () => {
    const received = { ":method": "POST", ":path": "/old", ":authority": "svc.test", te: "trailers", connection: "x", "keep-alive": "1", "content-type": "application/grpc", b3: "1-2-1", traceparent: "00-c-d-01" };
    const out = upstreamRequestHeaders(received, parts, true);
    expect(out).toEqual({
      ":method": "POST",
      ":path": "/new",
      ":authority": "up.test",
      ":scheme": "http",
      te: "trailers",
      "content-type": "application/grpc",
      "x-request-id": "r1",
      traceparent: "00-a-b-01",
      "x-envoy-expected-rq-timeout-ms": "500",
    });
  });

  it("upstreamRequestHeaders() keeps the client's trace headers when the proxy adds none", () => {
    const out = upstreamRequestHeaders({ ":method": "GET", ":path": "/", ":authority": "svc.test", b3: "1-2-1" }, { ...parts, extraLines: "" }, true);
    expect(out["b3"]).toBe("1-2-1");
  });

  it("upstreamRequestHeaders() over HTTP/1.1 sends host and no pseudo-headers or te", () => {
    const out = upstreamRequestHeaders({ ":method": "GET", ":path": "/", ":authority": "svc.test", te: "trailers", accept: "*/*" }, { ...parts, ops: [{ remove: ["accept"], set: [["x-s", "1"]], add: [] }] }, false);
    expect(out).toEqual({ host: "up.test", "x-request-id": "r1", traceparent: "00-a-b-01", "x-envoy-expected-rq-timeout-ms": "500", "x-s": "1" });
  });

  it("downstreamResponseHeaders() drops hop-by-hop fields, applies ops and adds the service time", () => {
    const out = downstreamResponseHeaders(201, { ":status": "201", connection: "keep-alive", "transfer-encoding": "chunked", "x-a": "1" }, [{ remove: [], set: [], add: [["x-a", "2"]] }], 7);
    expect(out).toEqual({ ":status": 201, "x-a": ["1", "2"], "x-envoy-upstream-service-time": "7" });
  });

  it("forwardedTrailers() keeps grpc-status and grpc-message", () => {
    expect(forwardedTrailers({ "grpc-status": "5", "grpc-message": "nope" })).toEqual({ "grpc-status": "5", "grpc-message": "nope" });
  });

  it("applyHeaderOpsTo() removes, then sets, then adds (Envoy's order)", () => {
    const headers = { a: "1", b: "2" };
    applyHeaderOpsTo(headers, [
      { remove: ["a"], set: [["b", "3"]], add: [["a", "4"]] },
      { remove: [], set: [], add: [["b", "5"]] },
    ]);
    expect(headers).toEqual({ a: "4", b: ["3", "5"] });
  });
});
