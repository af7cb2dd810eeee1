// An HTTP/1.1 listener of the sidecar (outbound 15001 or inbound 15006 in Istio's layout): a
// plain TCP server whose connections parse heads themselves (DownstreamConnection). It serves
// the snapshot it was last given — a new config swaps the snapshot atomically and in-flight
// requests finish on the old one — and drains by closing connections as they become idle.
import type { ServerHttp2Session } from "node:http2";
import { createServer, type Server, type Socket } from "node:net";
import type { TLSSocket } from "node:tls";
import { loadHttp2Path, loadedHttp2Path, withHttp2Handler } from "../http2/load-http2-handler.ts";
import type { UpstreamSessions } from "../http2/upstream-sessions.ts";
import type { HeadLimits, RequestHead } from "../http1/parse-request-head.ts";
import { DownstreamConnection, type ListenerHooks } from "./downstream-connection.ts";
import type { ClientConnection, ExchangeEnvironment } from "./exchange.ts";
import type { Decision } from "./route-request.ts";
import { formatAddress, type ArrivalConnection } from "./socket-address.ts";
import type { DownstreamSecurity, TlsAcceptor } from "../tls/inbound-tls.ts";

export interface HttpListenerOptions {
  readonly limits: HeadLimits;
  readonly env: ExchangeEnvironment;
  /** Time a client may take to send a complete request head (slowloris defence). */
  readonly headersTimeoutMs: number;
  /** Idle keep-alive connections are closed after this long without traffic. */
  readonly idleTimeoutMs: number;
  /**
   * Route decision; `security` is the connection's verified mutual-TLS peer (undefined: none),
   * `serverName` the SNI of TLS a gateway terminated ("" without SNI; undefined: not such TLS),
   * `connection` the connection's addresses and protocol (for an external authorizer's check).
   */
  decide(head: RequestHead, sourceIp: string, security?: DownstreamSecurity, serverName?: string, connection?: ArrivalConnection): Decision | Promise<Decision>;
  /** Upstream HTTP/2 sessions (and HTTP/1.1 agents) for requests that arrive over HTTP/2 or go upstream over it; undefined = no HTTP/2. */
  readonly http2Upstreams?: UpstreamSessions | undefined;
  /** CONNECT tunnels (TCP through the explicit proxy); undefined = CONNECT is routed like any request. */
  readonly connect?: ((socket: Socket, authority: string, leftover: Buffer | undefined) => void) | undefined;
  /** Inbound mutual TLS (PeerAuthentication) or a gateway's TLS termination; undefined = plain text only (the outbound listener). */
  readonly tls?: TlsAcceptor | undefined;
  /**
   * The telemetry environment of a new connection, asked per connection (the inbound listener's
   * depends on the peer — source_principal, connection_security_policy — and on the service the
   * current config says the workload serves); default `env` for every connection.
   */
  readonly envFor?: ((security: DownstreamSecurity | undefined) => ExchangeEnvironment) | undefined;
}

export class HttpListener {
  readonly server: Server;
  private readonly options: HttpListenerOptions;
  private readonly connections = new Set<DownstreamConnection>();
  private readonly sessions = new Set<ServerHttp2Session>();
  private draining = false;
  private sweeper: NodeJS.Timeout | undefined;

  constructor(options: HttpListenerOptions) {
    this.options = options;
    const isDraining = (): boolean => this.draining;
    const hooksFor = (env: ExchangeEnvironment, security: DownstreamSecurity | undefined, serverName: string | undefined): ListenerHooks => ({
      limits: options.limits,
      env,
      decide: (head: RequestHead, sourceIp: string, connection?: ArrivalConnection) => options.decide(head, sourceIp, security, serverName, connection),
      get draining() {
        return isDraining();
      },
      closed: (connection: DownstreamConnection) => {
        this.connections.delete(connection);
      },
      connect: options.connect,
      http2: options.http2Upstreams
        ? (socket: Socket, firstBytes: Buffer) =>
            // The first HTTP/2 connection loads the HTTP/2 path; the socket waits paused.
            withHttp2Handler(
              (handleHttp2Connection) => {
                if (socket.destroyed) return;
                const session = handleHttp2Connection(socket, firstBytes, {
                  env,
                  decide: serverName === undefined ? options.decide : (head, sourceIp, _security, _serverName, connection) => options.decide(head, sourceIp, security, serverName, connection),
                  security,
                  upstreams: options.http2Upstreams as UpstreamSessions,
                  idleTimeoutMs: options.idleTimeoutMs,
                  closed: (ended) => this.sessions.delete(ended),
                });
                this.sessions.add(session);
                // Drain started while the HTTP/2 path loaded: GOAWAY at once, as drain() sent the others.
                if (this.draining) session.close();
              },
              () => socket.destroy(),
            )
        : undefined,
      upgrade: options.http2Upstreams
        ? (head, headBuffer, decision, downstream) => {
            const path = loadedHttp2Path();
            return path ? new path.UpgradedExchange(head, headBuffer, decision, downstream, env, options.http2Upstreams as UpstreamSessions) : loadHttp2Path();
          }
        : undefined,
    });
    const plainHooks = hooksFor(options.env, undefined, undefined);
    const serve = (socket: Socket, security: DownstreamSecurity | undefined, serverName?: string): void => {
      if (this.draining) {
        socket.destroy();
        return;
      }
      const shared = options.envFor?.(security) ?? options.env;
      const env = shared.forConnection ? shared.forConnection(clientConnection(socket, serverName)) : shared;
      // No socket timer for the idle timeout (Node re-arms one on every read and write): the sweeper checks.
      const hooks = env === options.env && security === undefined && serverName === undefined ? plainHooks : hooksFor(env, security, serverName);
      const connection = new DownstreamConnection(socket, hooks, security);
      this.connections.add(connection);
    };
    // Half-open sockets: a CONNECT tunnel passes a client's FIN through; HTTP connections close themselves on 'end'.
    this.server = createServer({ noDelay: true, allowHalfOpen: true }, (socket) => {
      if (this.draining) {
        socket.destroy();
        return;
      }
      if (options.tls) options.tls.accept(socket, serve);
      else serve(socket, undefined);
    });
  }

  /** Listens on `host:port` (port 0 picks one); resolves with the bound port. */
  async listen(port: number, host: string): Promise<number> {
    await new Promise<void>((resolve, reject) => {
      this.server.once("error", reject);
      this.server.listen({ port, host, backlog: 1024 }, () => {
        this.server.off("error", reject);
        resolve();
      });
    });
    const every = Math.min(1000, Math.max(50, this.options.headersTimeoutMs / 4), Math.max(50, this.options.idleTimeoutMs / 4));
    this.sweeper = setInterval(() => this.sweep(), every);
    this.sweeper.unref();
    const address = this.server.address();
    return typeof address === "object" && address !== null ? address.port : port;
  }

  get connectionCount(): number {
    return this.connections.size + this.sessions.size;
  }

  /** Slow heads get 408; connections without traffic for the idle timeout close when no request is in progress. */
  private sweep(): void {
    const now = this.options.env.now();
    for (const connection of this.connections) {
      if (connection.headStartedMs !== 0 && now - connection.headStartedMs >= this.options.headersTimeoutMs) connection.expireHead();
      else connection.expireIdle(now, this.options.idleTimeoutMs);
    }
  }

  /** Stops accepting, closes idle connections now and busy ones after their exchange; resolves when all are gone or after `deadlineMs`. */
  async drain(deadlineMs: number): Promise<void> {
    this.draining = true;
    this.server.close();
    for (const connection of this.connections) connection.closeWhenIdle();
    // HTTP/2: GOAWAY; open streams finish.
    for (const session of this.sessions) session.close();
    const started = Date.now();
    while (this.connections.size + this.sessions.size > 0 && Date.now() - started < deadlineMs) await new Promise((r) => setTimeout(r, 20));
    for (const connection of this.connections) connection.socket.destroy();
    for (const session of this.sessions) session.destroy();
    if (this.sweeper) clearInterval(this.sweeper);
  }
}

/** The client's address and the SNI (a gateway's `serverName`, or the mesh TLS's) of `socket`, for telemetry. */
function clientConnection(socket: Socket, serverName: string | undefined): ClientConnection {
  const sni = serverName ?? (socket as Partial<TLSSocket>).servername;
  return { remoteAddress: formatAddress(socket.remoteAddress, socket.remotePort), serverName: typeof sni === "string" ? sni : "" };
}
