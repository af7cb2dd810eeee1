// A dedicated TCP listener: every accepted connection is proxied raw to the cluster
// `chooseCluster` names for it. Serves inbound TCP ports (to the local application's
// `inbound|<port>||` cluster), local upstream bindings (`--tcp-upstream`, a local port that
// always goes to one service) and a gateway's passthrough, TCP and TLS-terminating ports (the
// last through a `handshake` hook that hands over the decrypted socket; a `preface` hook reads a
// load balancer's PROXY protocol header first). A refused connection is
// closed at once, with its flag recorded; so is one the `authorize` hook (a gateway's
// AuthorizationPolicies) denies, with Envoy's connection termination details.
import { createServer, type Server, type Socket } from "node:net";
import type { ConnectionOutcome } from "../authz/authorize-connection.ts";
import { formatAddress, localAddressOf } from "../proxy/socket-address.ts";
import type { DownstreamSecurity } from "../tls/inbound-tls.ts";
import { RESPONSE_FLAGS } from "../telemetry/response-flags.ts";
import type { TcpChoice } from "./choose-tcp-cluster.ts";
import { readClientHelloSni } from "./read-client-hello-sni.ts";
import { proxyTcp, type TcpProxy, type TcpProxyEnvironment } from "./tcp-proxy.ts";
import { emptyTcpRecord } from "./tcp-record.ts";

/** What the listener learnt of a connection before choosing its cluster. */
export interface InspectedConnection {
  /** The SNI of the client's ClientHello (inspected, or of the TLS the `handshake` hook terminated). */
  readonly sni: string | undefined;
  /** The client certificate the `handshake` hook verified; undefined without one. */
  readonly security?: DownstreamSecurity | undefined;
}

export interface TcpListenerOptions {
  /** 0 picks a free port. */
  readonly port: number;
  readonly host: string;
  /** Called once per accepted connection, with the config current at that moment (and the SNI when inspected). */
  chooseCluster(socket: Socket, inspected: InspectedConnection): TcpChoice;
  /**
   * Authorizes a connection the chosen route would proxy (Istio's network RBAC / ext_authz on the
   * filter chain): undefined = no policies, proxy it; a denial closes it before the upstream is
   * dialled. A pending answer keeps the client's bytes waiting (paused).
   */
  readonly authorize?: ((socket: Socket, inspected: InspectedConnection) => ConnectionOutcome | Promise<ConnectionOutcome> | undefined) | undefined;
  /**
   * Read the client's first bytes for a TLS ClientHello's SNI before choosing (Envoy's
   * tls_inspector on Istio's TLS ports), waiting at most `timeoutMs` (then routing without SNI).
   */
  readonly inspectSni?: { readonly timeoutMs: number } | undefined;
  /**
   * Takes each accepted (paused) connection before the cluster is chosen, e.g. a gateway's TLS
   * termination: `proceed` gets the socket to proxy (the decrypted one), the SNI it carried,
   * which chooseCluster and the record get, and the client certificate it verified. A connection
   * the hook refuses never proceeds: the hook closes and counts it, and no record is written.
   * Connections still in the hook when the listener drains are closed.
   */
  readonly handshake?: ((socket: Socket, proceed: (socket: Socket, sni: string | undefined, security?: DownstreamSecurity) => void) => void) | undefined;
  /**
   * Reads what a load balancer sends ahead of the client's own bytes (a gateway's PROXY protocol
   * header, proxy/accept-proxy-protocol.ts) before anything else — the handshake, SNI inspection —
   * and gives the socket back paused, or closes a connection it refuses (which then never proceeds).
   */
  readonly preface?: ((socket: Socket, proceed: (socket: Socket) => void) => void) | undefined;
  readonly env: TcpProxyEnvironment;
  readonly maxConnectAttempts?: number | undefined;
}

/** Envoy's network RBAC and ext_authz counters of the connections `authorize` decided (`tcp.rbac.*`, `ext_authz.tcp.*`). */
export interface TcpAuthzStats {
  allowed: number;
  denied: number;
  externalDenied: number;
  externalError: number;
}

export class TcpListener {
  readonly server: Server;
  /** The bound port (known after startTcpListener resolves). */
  port = 0;
  readonly authzStats: TcpAuthzStats = { allowed: 0, denied: 0, externalDenied: 0, externalError: 0 };
  private readonly connections = new Set<TcpProxy>();
  /** Connections inside the `handshake` hook or waiting for `authorize`'s answer (a drain closes them). */
  private readonly handshaking = new Set<Socket>();
  private draining = false;

  constructor(options: TcpListenerOptions) {
    // allowHalfOpen: a client's FIN is passed upstream while the response direction stays open.
    const start = (socket: Socket): void => {
      if (options.handshake) this.handshake(socket, options, options.handshake);
      else if (options.inspectSni) inspectSni(socket, options.inspectSni.timeoutMs, (sni, initialData) => this.accept(socket, options, { sni }, initialData));
      else this.accept(socket, options, { sni: undefined }, undefined);
    };
    // Chosen once per listener: listeners without a preface take connections as before.
    const preface = options.preface;
    const take = preface ? (socket: Socket): void => this.preface(socket, preface, start) : start;
    this.server = createServer({ allowHalfOpen: true, pauseOnConnect: true, noDelay: true }, (socket) => {
      if (this.draining) {
        socket.destroy();
        return;
      }
      take(socket);
    });
  }

  private preface(socket: Socket, preface: NonNullable<TcpListenerOptions["preface"]>, start: (socket: Socket) => void): void {
    this.handshaking.add(socket);
    socket.once("close", () => this.handshaking.delete(socket));
    preface(socket, (read) => {
      this.handshaking.delete(socket);
      if (!this.draining) start(read);
      else read.destroy();
    });
  }

  private handshake(socket: Socket, options: TcpListenerOptions, handshake: NonNullable<TcpListenerOptions["handshake"]>): void {
    this.handshaking.add(socket);
    socket.once("close", () => this.handshaking.delete(socket));
    handshake(socket, (client, sni, security) => {
      this.handshaking.delete(socket);
      this.accept(client, options, { sni, security }, undefined);
    });
  }

  private accept(socket: Socket, options: TcpListenerOptions, inspected: InspectedConnection, initialData: Buffer | undefined): void {
    if (socket.destroyed) return;
    const sni = inspected.sni;
    const choice = options.chooseCluster(socket, inspected);
    if (choice.type === "refuse") {
      refuse(socket, choice, options.env, sni);
      return;
    }
    const outcome = options.authorize?.(socket, inspected);
    if (outcome === undefined) {
      this.proxy(socket, options, choice, sni, initialData);
      return;
    }
    if (!(outcome instanceof Promise)) {
      this.admit(socket, options, choice, sni, initialData, outcome);
      return;
    }
    // The client's bytes wait until the check answers; a drain meanwhile closes the connection.
    socket.pause();
    this.handshaking.add(socket);
    void outcome.then((settled) => {
      if (!this.handshaking.delete(socket) || socket.destroyed) return;
      this.admit(socket, options, choice, sni, initialData, settled);
    });
  }

  /** Proxies an authorized connection, or closes a denied one with its record (UAEX for the external authorizer's). */
  private admit(socket: Socket, options: TcpListenerOptions, choice: Extract<TcpChoice, { type: "cluster" }>, sni: string | undefined, initialData: Buffer | undefined, outcome: ConnectionOutcome): void {
    if (outcome.type === "allow") {
      this.authzStats.allowed += 1;
      this.proxy(socket, options, choice, sni, initialData);
      return;
    }
    if (outcome.flag === undefined) this.authzStats.denied += 1;
    else if (outcome.details === "ext_authz_error") this.authzStats.externalError += 1;
    else this.authzStats.externalDenied += 1;
    const record = emptyTcpRecord(options.env.wallClockMs());
    record.requestedServerName = sni ?? "";
    if (outcome.flag !== undefined) record.responseFlags = RESPONSE_FLAGS[outcome.flag];
    record.upstreamCluster = choice.cluster.name;
    record.routeName = choice.routeName;
    record.downstreamRemoteAddress = formatAddress(socket.remoteAddress, socket.remotePort);
    record.downstreamLocalAddress = localAddressOf(socket);
    record.connectionTerminationDetails = outcome.details;
    socket.destroy();
    options.env.finished(record);
  }

  private proxy(socket: Socket, options: TcpListenerOptions, choice: Extract<TcpChoice, { type: "cluster" }>, sni: string | undefined, initialData: Buffer | undefined): void {
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
