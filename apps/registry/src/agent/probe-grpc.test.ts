// The gRPC health probe against a real grpc-js server on port 0.
import { Server, ServerCredentials, type ServerUnaryCall, type ServiceDefinition, type sendUnaryData, status } from "@grpc/grpc-js";
import { afterEach, describe, expect, it } from "vitest";
import { decodeHealthCheckResponse, encodeHealthCheckRequest, probeGrpc, splitGrpcTarget } from "./probe-grpc.ts";

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0)) await cleanup();
});

describe("gRPC probe", () => {
  it("encodes the request and decodes the response of grpc.health.v1", () => {
    expect([...encodeHealthCheckRequest("web")]).toEqual([0x0a, 3, 0x77, 0x65, 0x62]);
    expect(encodeHealthCheckRequest("").length).toBe(0);
    expect(decodeHealthCheckResponse(Buffer.from([0x08, 0x01]))).toBe(1);
    expect(decodeHealthCheckResponse(Buffer.from([0x08, 0x02]))).toBe(2);
    expect(decodeHealthCheckResponse(Buffer.alloc(0))).toBe(0);
    expect(splitGrpcTarget("h:1/pkg.Svc")).toEqual({ address: "h:1", service: "pkg.Svc" });
  });

  it("is passing for SERVING and critical otherwise, against a real grpc-js server", async () => {
    const identity = (value: Buffer) => value;
    const definition: ServiceDefinition = {
      Check: { path: "/grpc.health.v1.Health/Check", requestStream: false, responseStream: false, requestSerialize: identity, requestDeserialize: identity, responseSerialize: identity, responseDeserialize: identity, originalName: "check" },
    };
    const server = new Server();
    server.addService(definition, {
      Check: (call: ServerUnaryCall<Buffer, Buffer>, callback: sendUnaryData<Buffer>) => {
        const service = call.request.length === 0 ? "" : call.request.subarray(2).toString();
        if (service === "unknown") callback({ code: status.NOT_FOUND, details: "unknown service" });
        else callback(null, Buffer.from([0x08, service === "sick" ? 2 : 1]));
      },
    });
    const port = await new Promise<number>((resolve, reject) => server.bindAsync("127.0.0.1:0", ServerCredentials.createInsecure(), (error, bound) => (error === null ? resolve(bound) : reject(error))));
    cleanups.push(() => new Promise((resolve) => server.tryShutdown(() => resolve())));
    expect(await probeGrpc(`127.0.0.1:${port}`, 2000)).toEqual({ status: "passing", output: `gRPC check 127.0.0.1:${port}: success` });
    expect(await probeGrpc(`127.0.0.1:${port}/sick`, 2000)).toMatchObject({ status: "critical", output: expect.stringContaining("NOT_SERVING") });
    expect(await probeGrpc(`127.0.0.1:${port}/unknown`, 2000)).toMatchObject({ status: "critical", output: expect.stringContaining("unknown service") });
  });
});
