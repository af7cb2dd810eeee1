// Consul's gRPC check: grpc.health.v1.Health/Check on `host:port[/service]`; SERVING is passing.
// The two tiny messages are encoded by hand (field 1 of each) to need no generated code.
import { Client, credentials, status as grpcStatus } from "@grpc/grpc-js";
import type { ProbeResult } from "./probe-result.ts";

/** HealthCheckResponse.ServingStatus (grpc/health/v1/health.proto). */
const servingStatusNames = ["UNKNOWN", "SERVING", "NOT_SERVING", "SERVICE_UNKNOWN"] as const;

/** Encodes `HealthCheckRequest { string service = 1; }`. */
export function encodeHealthCheckRequest(service: string): Buffer {
  const name = Buffer.from(service, "utf8");
  if (name.length === 0) return Buffer.alloc(0);
  const length: number[] = [];
  for (let n = name.length; ; n >>>= 7) {
    if (n < 0x80) {
      length.push(n);
      break;
    }
    length.push((n & 0x7f) | 0x80);
  }
  return Buffer.concat([Buffer.from([0x0a, ...length]), name]);
}

/** Decodes `HealthCheckResponse { ServingStatus status = 1; }` (0 when absent). */
export function decodeHealthCheckResponse(bytes: Buffer): number {
  let offset = 0;
  let status = 0;
  while (offset < bytes.length) {
    const tag = bytes[offset++] ?? 0;
    const wireType = tag & 7;
    let value = 0;
    if (wireType === 0) {
      for (let shift = 0; ; shift += 7) {
        const byte = bytes[offset++] ?? 0;
        value += (byte & 0x7f) * 2 ** shift;
        if ((byte & 0x80) === 0) break;
      }
      if (tag >> 3 === 1) status = value;
    } else if (wireType === 2) {
      let length = 0;
      for (let shift = 0; ; shift += 7) {
        const byte = bytes[offset++] ?? 0;
        length += (byte & 0x7f) * 2 ** shift;
        if ((byte & 0x80) === 0) break;
      }
      offset += length;
    } else {
      break;
    }
  }
  return status;
}

/** Splits Consul's `GRPC` field: `host:port` or `host:port/service`. */
export function splitGrpcTarget(target: string): { address: string; service: string } {
  const slash = target.indexOf("/");
  return slash < 0 ? { address: target, service: "" } : { address: target.slice(0, slash), service: target.slice(slash + 1) };
}

export function probeGrpc(target: string, timeoutMs: number): Promise<ProbeResult> {
  const { address, service } = splitGrpcTarget(target);
  const client = new Client(address, credentials.createInsecure());
  return new Promise((resolve) => {
    client.makeUnaryRequest(
      "/grpc.health.v1.Health/Check",
      (request: Buffer) => request,
      (response: Buffer) => response,
      encodeHealthCheckRequest(service),
      { deadline: Date.now() + timeoutMs },
      (error, response) => {
        client.close();
        if (error !== null || response === undefined) {
          const reason = error?.code === grpcStatus.DEADLINE_EXCEEDED ? `timed out after ${timeoutMs}ms` : (error?.details ?? "no response");
          resolve({ status: "critical", output: `gRPC check ${target}: failed: ${reason}` });
          return;
        }
        const code = decodeHealthCheckResponse(response);
        const name = servingStatusNames[code] ?? `status ${code}`;
        resolve(code === 1 ? { status: "passing", output: `gRPC check ${target}: success` } : { status: "critical", output: `gRPC check ${target}: failed with status ${name}` });
      },
    );
  });
}
