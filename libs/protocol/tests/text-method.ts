// A gRPC method whose messages are UTF-8 text, for the grpc-http2 tests: usable both by
// GrpcHttp2Server / GrpcHttp2Client and, as a grpc-js service definition, by grpc-js.
import type { MethodDefinition } from "../src/grpc-http2/grpc-wire.ts";

export type TextMethod = MethodDefinition<string, string> & { readonly originalName: string };

export function textMethod(path: string, shape: { readonly requestStream?: boolean; readonly responseStream?: boolean } = {}): TextMethod {
  return {
    path,
    requestStream: shape.requestStream ?? false,
    responseStream: shape.responseStream ?? false,
    requestSerialize: (value) => Buffer.from(value),
    requestDeserialize: (bytes) => bytes.toString(),
    responseSerialize: (value) => Buffer.from(value),
    responseDeserialize: (bytes) => bytes.toString(),
    originalName: path,
  };
}
