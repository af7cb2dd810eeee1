// A dedicated TCP listener: every accepted connection is proxied raw to the cluster
// `chooseCluster` names for it. Serves inbound TCP ports (to the local application's
// `inbound|<port>||` cluster), local upstream bindings (`--tcp-upstream`, a local port that
// always goes to one service) and a gateway's passthrough, TCP and TLS-terminating ports (the
// last through a `handshake` hook that hands over the decrypted socket). A refused connection is
// closed at once, with its flag recorded.
import { createServer, type Server, type Socket } from "node:net";
import { formatAddress, localAddressOf } from "../proxy/socket-address.ts";
import { RESPONSE_FLAGS } from "../telemetry/response-flags.ts";
import type { TcpChoice } from "./choose-tcp-cluster.ts";
import { readClientHelloSni } from "./read-client-hello-sni.ts";
import { proxyTcp, type TcpProxy, type TcpProxyEnvironment } from "./tcp-proxy.ts";
import { emptyTcpRecord } from "./tcp-record.ts";

export interface TcpListenerOptions {
  /** 0 picks a free port. */
  readonly port: number;
  readonly host: string;
  /** Called once per accepted connection, with the config current at that moment (and the SNI when inspected). */
  chooseCluster(socket: Socket, inspected: { readonly sni: string | undefined }): TcpChoice;
  /**
   * Read the client's first bytes for a TLS ClientHello's SNI before choosing (Envoy's
   * tls_inspector on Istio's TLS ports), waiting at most `timeoutMs` (then routing without SNI).
   */
  readonly inspectSni?: { readonly timeoutMs: number } | undefined;
  /**
   * Takes each accepted (paused) connection before the cluster is chosen, e.g. a gateway's TLS
   * termination: `proceed` gets the socket to proxy (the decrypted one) and the SNI it carried,
   * which chooseCluster and the record get. A connection the hook refuses never proceeds: the hook
   * closes and counts it, and no record is written. Connections still in the hook when the
   * listener drains are closed.
   */
  readonly handshake?: ((socket: Socket, proceed: (socket: Socket, sni: string | undefined) => void) => void) | undefined;
  readonly env: TcpProxyEnvironment;
  readonly maxConnectAttempts?: number | undefined;
}

export class TcpListener {
  readonly server: Server;
  /** The bound port (known after startTcpListener resolves). */
  port = 0;
  private readonly connections = new Set<TcpProxy>();
  /** Connections inside the `handshake` hook. */
  private readonly handshaking = new Set<Socket>();
  private draining = false;

  constructor(options: TcpListenerOptions) {
    // allowHalfOpen: a client's FIN is passed upstream while the response direction stays open.
    this.server = createServer({ allowHalfOpen: true, pauseOnConnect: true, noDelay: true }, (socket) => {
      if (this.draining) {
        socket.destroy();
        return;
      }
      if (options.handshake) this.handshake(socket, options, options.handshake);
      else if (options.inspectSni) inspectSni(socket, options.inspectSni.timeoutMs, (sni, initialData) => this.accept(socket, options, sni, initialData));
      else this.accept(socket, options, undefined, undefined);
    });
  }

  private handshake(socket: Socket, options: TcpListenerOptions, handshake: NonNullable<TcpListenerOptions["handshake"]>): void {
    this.handshaking.add(socket);
    socket.once("close", () => this.handshaking.delete(socket));
    handshake(socket, (client, sni) => {
      this.handshaking.delete(socket);
      this.accept(client, options, sni, undefined);
    });
  }

  private accept(socket: Socket, options: TcpListenerOptions, sni: string | undefined, initialData: Buffer | undefined): void {
    if (socket.destroyed) return;
    const choice = options.chooseCluster(socket, { sni });
    if (choice.type === "refuse") {
      refuse(socket, choice, options.env, sni);
      return;
    }
    const proxy = proxyTcp(socket, choice.cluster, options.env, {
      routeName: choice.routeName,
      maxConnectAttempts: options.maxConnectAttempts,
      requestedServerName: sni,
      initialData,
      clientTls: choice.clientTls,
    });
    this.connections.add(proxy);
    socket.once("close", () => this.connections.delete(proxy));
  }

  get connectionCount(): number {
    return this.connections.size;
  }

  /** Stops accepting; open connections keep going until they end or `deadlineMs` passes, then are closed. */
  async drain(deadlineMs: number): Promise<void> {
    this.draining = true;
    for (const socket of this.handshaking) socket.destroy();
    const closed = new Promise<void>((resolve) => this.server.close(() => resolve()));
    const deadline = new Promise<void>((resolve) => setTimeout(resolve, deadlineMs).unref());
    const idle = (async () => {
      while (this.connections.size > 0) await new Promise((r) => setTimeout(r, 20));
    })();
    await Promise.race([idle, deadline]);
    for (const proxy of this.connections) proxy.close("drain");
    await closed;
  }
}

/** Listens on `options.host:options.port`; resolves once bound. */
export async function startTcpListener(options: TcpListenerOptions): Promise<TcpListener> {
  const listener = new TcpListener(options);
  await new Promise<void>((resolve, reject) => {
    listener.server.once("error", reject);
    listener.server.listen({ port: options.port, host: options.host, backlog: 1024 }, () => {
      listener.server.off("error", reject);
      resolve();
    });
  });
  const address = listener.server.address();
  listener.port = typeof address === "object" && address !== null ? address.port : options.port;
  return listener;
}

/** Collects the first bytes until a ClientHello is complete, the data is not TLS, or the timeout passes. */
function inspectSni(socket: Socket, timeoutMs: number, done: (sni: string | undefined, initialData: Buffer | undefined) => void): void {
  let received: Buffer = Buffer.alloc(0);
  let settled = false;
  const finish = (sni: string | undefined): void => {
    if (settled) return;
    settled = true;
    clearTimeout(timer);
    socket.off("data", onData);
    socket.off("end", onEnd);
    socket.pause();
    done(sni, received.length > 0 ? received : undefined);
  };
  const onData = (chunk: Buffer): void => {
    received = received.length === 0 ? chunk : Buffer.concat([received, chunk]);
    const scan = readClientHelloSni(received);
    if (scan.type === "tls") finish(scan.sni);
    else if (scan.type === "not-tls") finish(undefined);
  };
  // A client that half-closes before a full ClientHello: route what we have.
  const onEnd = (): void => finish(undefined);
  const timer = setTimeout(() => finish(undefined), timeoutMs);
  socket.on("data", onData);
  socket.once("end", onEnd);
  socket.once("close", () => clearTimeout(timer));
  socket.resume();
}

function refuse(socket: Socket, choice: Extract<TcpChoice, { type: "refuse" }>, env: TcpProxyEnvironment, sni: string | undefined): void {
  const record = emptyTcpRecord(env.wallClockMs());
  record.requestedServerName = sni ?? "";
  record.responseFlags = RESPONSE_FLAGS[choice.flag];
  record.upstreamCluster = choice.cluster;
  record.routeName = choice.routeName;
  record.downstreamRemoteAddress = formatAddress(socket.remoteAddress, socket.remotePort);
  record.downstreamLocalAddress = localAddressOf(socket);
  socket.destroy();
  env.finished(record);
}
