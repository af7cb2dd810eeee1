// Real upstream servers for the HTTP/2 tests: an h2c server (node:http2) answering with its name,
// a gRPC server (@grpc/grpc-js) with a byte-passthrough Echo service (unary and server-streaming,
// no .proto needed), and the ServiceEntry YAML that makes them a mesh service.
import * as grpc from "@grpc/grpc-js";
import { createServer, type Http2Server, type IncomingHttpHeaders, type ServerHttp2Stream } from "node:http2";

export interface H2UpstreamServer {
  readonly name: string;
  readonly port: number;
  readonly server: Http2Server;
  /** Requests seen, in order (headers and body). */
  readonly requests: { headers: IncomingHttpHeaders; body: string }[];
  /** TCP connections accepted (to check multiplexing). */
  connections: number;
  /** Replaces the handler (default: 200, body = name, trailer `x-upstream: name`). */
  handle(handler: (stream: ServerHttp2Stream, headers: IncomingHttpHeaders, body: string) => void): void;
  close(): Promise<void>;
}

export async function startH2Upstream(name: string): Promise<H2UpstreamServer> {
  type Handler = (stream: ServerHttp2Stream, headers: IncomingHttpHeaders, body: string) => void;
  let handler: Handler = (stream) => {
    stream.respond({ ":status": 200, "content-type": "text/plain" }, { waitForTrailers: true });
    stream.on("wantTrailers", () => stream.sendTrailers({ "x-upstream": name }));
    stream.end(name);
  };
  const requests: H2UpstreamServer["requests"] = [];
  const server = createServer();
  const upstream: H2UpstreamServer = {
    name,
    port: 0,
    server,
    requests,
    connections: 0,
    handle(next) {
      handler = next;
    },
    async close() {
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        for (const session of sessions) session.destroy();
      });
    },
  };
  const sessions = new Set<import("node:http2").ServerHttp2Session>();
  server.on("session", (session) => {
    upstream.connections += 1;
    sessions.add(session);
    session.on("close", () => sessions.delete(session));
  });
  server.on("stream", (stream, headers) => {
    const chunks: Buffer[] = [];
    stream.on("data", (c: Buffer) => chunks.push(c));
    stream.on("end", () => {
      const body = Buffer.concat(chunks).toString();
      requests.push({ headers, body });
      handler(stream, headers, body);
    });
    stream.on("error", () => undefined);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const address = server.address();
  (upstream as { port: number }).port = typeof address === "object" && address ? address.port : 0;
  return upstream;
}

const passthrough = {
  requestSerialize: (b: Buffer) => b,
  requestDeserialize: (b: Buffer) => b,
  responseSerialize: (b: Buffer) => b,
  responseDeserialize: (b: Buffer) => b,
};

/** test.Echo: `Unary` answers one message, `Stream` answers several; messages are raw bytes. */
export const echoService = {
  unary: { path: "/test.Echo/Unary", requestStream: false, responseStream: false, ...passthrough },
  stream: { path: "/test.Echo/Stream", requestStream: false, responseStream: true, ...passthrough },
} as const;

export type EchoHandlers = {
  unary: grpc.handleUnaryCall<Buffer, Buffer>;
  stream: grpc.handleServerStreamingCall<Buffer, Buffer>;
};

export interface GrpcUpstream {
  readonly port: number;
  /** Calls seen, by method path. */
  readonly calls: string[];
  close(): Promise<void>;
}

export async function startGrpcUpstream(handlers: EchoHandlers): Promise<GrpcUpstream> {
  const server = new grpc.Server();
  const calls: string[] = [];
  server.addService(echoService, {
    unary: (call: grpc.ServerUnaryCall<Buffer, Buffer>, callback: grpc.sendUnaryData<Buffer>) => {
      calls.push(echoService.unary.path);
      handlers.unary(call, callback);
    },
    stream: (call: grpc.ServerWritableStream<Buffer, Buffer>) => {
      calls.push(echoService.stream.path);
      handlers.stream(call);
    },
  });
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync("127.0.0.1:0", grpc.ServerCredentials.createInsecure(), (error, bound) => (error ? reject(error) : resolve(bound))),
  );
  return {
    port,
    calls,
    close: () => new Promise<void>((resolve) => server.tryShutdown(() => resolve())),
  };
}

/** A grpc-js client of test.Echo that calls the proxy on `proxyPort` with `authority` as :authority. */
export function echoClient(proxyPort: number, authority: string): grpc.Client & {
  unary(request: Buffer, callback: (error: grpc.ServiceError | null, response?: Buffer) => void): grpc.ClientUnaryCall;
  unary(request: Buffer, metadata: grpc.Metadata, callback: (error: grpc.ServiceError | null, response?: Buffer) => void): grpc.ClientUnaryCall;
  stream(request: Buffer): grpc.ClientReadableStream<Buffer>;
} {
  const Client = grpc.makeGenericClientConstructor(echoService, "Echo");
  return new Client(`127.0.0.1:${proxyPort}`, grpc.credentials.createInsecure(), { "grpc.default_authority": authority }) as never;
}

/** A ServiceEntry for `host:port` with STATIC endpoints on loopback ports, speaking `protocol` (HTTP2, GRPC, HTTP). */
export function h2ServiceEntryYaml(host: string, port: number, endpointPorts: readonly number[], protocol: string): string {
  const endpoints = endpointPorts.map((p, i) => `    - address: 127.0.0.1\n      ports: { main: ${p} }\n      labels: { version: v${i + 1} }`).join("\n");
  return `apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: { name: ${host.replace(/\./g, "-")}, namespace: default }
spec:
  hosts: [${host}]
  location: MESH_INTERNAL
  resolution: STATIC
  ports:
    - { number: ${port}, name: main, protocol: ${protocol} }
  endpoints:
${endpoints}
`;
}
