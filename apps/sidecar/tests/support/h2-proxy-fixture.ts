// Starts the sidecar's HTTP/2 path on loopback for integration tests: a TCP server that reads the
// first bytes of each connection (the h2c prior-knowledge preface) and hands the socket to
// handleHttp2Connection, as the HTTP/1.1 listener does; configured from Istio YAML text.
import { createServer, type Server, type Socket } from "node:net";
import { createServer as createTlsServer, type TLSSocket } from "node:tls";
import type { ServerHttp2Session } from "node:http2";
import { handleHttp2Connection } from "../../src/http2/handle-http2-connection.ts";
import type { Http2ExchangeRecord } from "../../src/http2/http2-exchange.ts";
import { UpstreamSessions } from "../../src/http2/upstream-sessions.ts";
import type { BuiltSnapshot } from "../../src/proxy/build-snapshot.ts";
import type { ExchangeEnvironment } from "../../src/proxy/exchange.ts";
import { routeOutbound } from "../../src/proxy/route-request.ts";
import { PoolRegistry } from "../../src/upstream/pool-registry.ts";
import type { FinishedRequest } from "./proxy-fixture.ts";
import { snapshotFromYaml } from "./proxy-fixture.ts";
import { testCertificatePem, testPrivateKeyPem } from "./h2-test-certificate.ts";

export interface Http2ProxyFixture {
  readonly port: number;
  readonly finished: FinishedRequest[];
  readonly upstreams: UpstreamSessions;
  readonly snapshot: BuiltSnapshot;
  /** The records as the HTTP/2 path fills them (protocol, grpcStatus). */
  records(): Http2ExchangeRecord[];
  close(): Promise<void>;
}

/**
 * `tls: true` serves TLS with ALPN (h2, http/1.1) and hands h2 connections over at once (no
 * first bytes); otherwise plain TCP with the h2c preface read first.
 */
export async function startHttp2Proxy(yaml: string, options: { random?: () => number; tls?: boolean } = {}): Promise<Http2ProxyFixture> {
  const pools = new PoolRegistry();
  const upstreams = new UpstreamSessions();
  const finished: FinishedRequest[] = [];
  const random = options.random ?? Math.random;
  const env: ExchangeEnvironment = {
    now: () => performance.now(),
    random,
    extraRequestHeaders: () => "x-request-id: test-id\r\n",
    finished: (head, record, decision) => finished.push({ head, record: { ...record }, decision }),
  };
  const snapshot = snapshotFromYaml(yaml, pools);
  const sessions = new Set<ServerHttp2Session>();
  const sockets = new Set<Socket>();
  let port = 0;
  const hooks = {
    env,
    upstreams,
    decide: (head: Parameters<typeof routeOutbound>[1]["head"], sourceIp: string) => routeOutbound(snapshot, { head, listenerPort: port, sourceIp, random }),
    closed: (s: ServerHttp2Session) => sessions.delete(s),
  };
  const track = (socket: Socket): void => {
    sockets.add(socket);
    socket.on("close", () => sockets.delete(socket));
  };
  const server: Server = options.tls
    ? createTlsServer({ key: testPrivateKeyPem, cert: testCertificatePem, ALPNProtocols: ["h2", "http/1.1"] }, (socket: TLSSocket) => {
        track(socket);
        if (socket.alpnProtocol !== "h2") {
          socket.destroy();
          return;
        }
        sessions.add(handleHttp2Connection(socket, undefined, hooks));
      })
    : createServer({ noDelay: true }, (socket) => {
        track(socket);
        socket.once("data", (first: Buffer) => {
          socket.pause();
          sessions.add(handleHttp2Connection(socket, first, hooks));
        });
      });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const address = server.address();
  port = typeof address === "object" && address ? address.port : 0;
  return {
    port,
    finished,
    upstreams,
    snapshot,
    records: () => finished.map((f) => f.record as Http2ExchangeRecord),
    async close() {
      for (const session of sessions) session.destroy();
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      upstreams.closeAll();
      pools.closeAll();
    },
  };
}
