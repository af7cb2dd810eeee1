// Envoy's tcp_proxy network filter for one downstream connection: pick an endpoint of the chosen
// cluster, connect under the circuit breaker's connection limit and the cluster's connect
// timeout (retrying another endpoint up to maxConnectAttempts), then move bytes both ways with
// backpressure, pass half-closes through, close both sides after the idle timeout, and report
// one TcpRecord when both sides are closed.
//
//   client ──pause──► pick ──► breaker ──► connect ─┬─ ok ──► onConnected ──► pipe ⇄ ──► both closed ──► finished(record)
//                      │ UH      │ UO               └─ fail (UF) ──► another attempt? ──no──► URX ──► onRefused
//                      └─────────┴──────────────────────────────────────────────────────────────────► onRefused
import { connect, type Socket } from "node:net";
import { requestHash } from "@meshwork/proxy-core";
import type { ClusterRuntime, EndpointRuntime } from "../proxy/cluster-runtime.ts";
import { RESPONSE_FLAGS, type ResponseFlagSet } from "../telemetry/response-flags.ts";
import { emptyTcpRecord, type TcpRecord } from "./tcp-record.ts";
import { formatAddress, localAddressOf } from "../proxy/socket-address.ts";

/** The proxy's clock and its reporting. */
export interface TcpProxyEnvironment {
  /** Monotonic ms (durations, outlier detection, idle timeout). */
  now(): number;
  /** Wall-clock epoch ms, for the record's start time. */
  wallClockMs(): number;
  /** The upstream connection is up (Istio counts `istio_tcp_connections_opened_total` here). */
  opened?(record: TcpRecord): void;
  /** Called once, after both sides are closed; the record is not touched afterwards. */
  finished(record: TcpRecord): void;
}

export interface TcpProxyOptions {
  /** Envoy tcp_proxy `max_connect_attempts`: Envoy's default and what Istio leaves it at is 1. */
  readonly maxConnectAttempts?: number | undefined;
  /** Consistent-hash key; by default the source IP's hash when the cluster has a hash policy (Istio's TCP hash is useSourceIp). */
  readonly hash?: number | undefined;
  readonly routeName?: string | undefined;
  readonly requestedServerName?: string | undefined;
  /** The client's own TLS runs to the endpoint (a gateway's AUTO_PASSTHROUGH): connect without the cluster's TLS origination. */
  readonly clientTls?: boolean | undefined;
  /** Bytes already read from the client (after a CONNECT head): sent upstream first. */
  readonly initialData?: Buffer | undefined;
  /** The upstream is connected and no byte has moved yet: a CONNECT tunnel answers 200 here. */
  readonly onConnected?: ((client: Socket) => void) | undefined;
  /** No upstream connection could be made (flags say why); the default destroys the client. */
  readonly onRefused?: ((client: Socket, flags: ResponseFlagSet) => void) | undefined;
}

/** Envoy's default (tcp_proxy.proto: "If not specified, 1 connection attempt will be made"); Istio does not set it. */
export const defaultMaxConnectAttempts = 1;

/** Starts proxying `client` to `cluster`; the returned proxy can be closed early (drain). */
export function proxyTcp(client: Socket, cluster: ClusterRuntime, env: TcpProxyEnvironment, options: TcpProxyOptions = {}): TcpProxy {
  const proxy = new TcpProxy(client, cluster, env, options);
  proxy.start();
  return proxy;
}

export class TcpProxy {
  readonly client: Socket;
  readonly cluster: ClusterRuntime;
  readonly record: TcpRecord;
  private readonly env: TcpProxyEnvironment;
  private readonly options: TcpProxyOptions;
  private readonly startedMs: number;
  private upstream: Socket | undefined;
  private endpoint = -1;
  private connected = false;
  /** Upstream socket fully closed (or never opened) — with clientClosed, the end of the connection. */
  private upstreamClosed = true;
  private clientClosed = false;
  private upstreamReadEnded = false;
  private clientReadEnded = false;
  private done = false;
  private lastActivityMs: number;
  private idleTimer: NodeJS.Timeout | undefined;
  private durationTimer: NodeJS.Timeout | undefined;
  private readonly hash: number | undefined;

  constructor(client: Socket, cluster: ClusterRuntime, env: TcpProxyEnvironment, options: TcpProxyOptions) {
    this.client = client;
    this.cluster = cluster;
    this.env = env;
    this.options = options;
    this.startedMs = env.now();
    this.lastActivityMs = this.startedMs;
    this.record = emptyTcpRecord(env.wallClockMs());
    this.record.upstreamCluster = cluster.name;
    this.record.routeName = options.routeName ?? "";
    this.record.requestedServerName = options.requestedServerName ?? "";
    this.record.downstreamRemoteAddress = formatAddress(client.remoteAddress, client.remotePort);
    this.record.downstreamLocalAddress = localAddressOf(client);
    const policy = cluster.spec.hashPolicy;
    this.hash = options.hash ?? (policy ? requestHash(policy, { headers: {}, query: "", sourceIp: client.remoteAddress ?? "" }) : undefined);
  }

  start(): void {
    const client = this.client;
    // Nothing is read from the client until the upstream is there (bytes wait in the kernel buffer).
    client.pause();
    client.on("error", (err: NodeJS.ErrnoException) => {
      if (this.record.connectionTerminationDetails === "") this.record.connectionTerminationDetails = `downstream ${err.code ?? err.message}`;
    });
    // The client may have half-closed already (while a listener inspected its first bytes).
    this.clientReadEnded = client.readableEnded;
    client.on("end", () => {
      this.clientReadEnded = true;
      this.bump();
      // Half-close: FIN from the client goes upstream; the other direction stays open.
      if (this.connected) this.upstream?.end();
    });
    client.on("close", () => {
      this.clientClosed = true;
      const upstream = this.upstream;
      if (upstream && !this.connected) {
        // The client gave up while we were connecting: abandon the attempt (not a connect failure).
        this.upstream = undefined;
        upstream.destroy();
      } else if (upstream && !(this.clientReadEnded && this.upstreamReadEnded)) {
        // Not a clean close (both FINs seen): the upstream side is torn down too.
        upstream.destroy();
      }
      this.maybeFinish();
    });
    this.attempt();
  }

  /** Closes both sides now (drain, shutdown). */
  close(details = "closed_by_proxy"): void {
    if (this.record.connectionTerminationDetails === "") this.record.connectionTerminationDetails = details;
    this.upstream?.destroy();
    this.client.destroy();
  }

  private attempt(): void {
    const cluster = this.cluster;
    if (this.clientClosed) return this.maybeFinish();
    const index = cluster.pick(this.hash, this.endpoint);
    if (index < 0) {
      cluster.stats.noHealthy += 1;
      return this.refuse(RESPONSE_FLAGS.UH);
    }
    if (!cluster.breaker.tryAcquire("connections").ok) {
      cluster.stats.overflows += 1;
      return this.refuse(RESPONSE_FLAGS.UO);
    }
    const endpoint = cluster.endpoints[index] as EndpointRuntime;
    this.endpoint = index;
    this.record.connectAttempts += 1;
    this.record.upstreamHost = endpoint.address;
    endpoint.active += 1;
    const target = endpoint.pool.options;
    // TLS origination (DestinationRule tls, auto mTLS to a sidecar): no ALPN, the bytes are opaque.
    const tls = this.options.clientTls === true ? undefined : target.tls;
    const socket = target.host.startsWith("unix://")
      ? connect({ path: target.host.slice("unix://".length), allowHalfOpen: true })
      : tls
        ? tls.connect(target.host, target.port, [])
        : connect({ host: target.host, port: target.port, allowHalfOpen: true, noDelay: true });
    this.upstream = socket;
    this.upstreamClosed = false;
    let timedOut = false;
    let released = false;
    const connectTimer = setTimeout(() => {
      timedOut = true;
      socket.destroy(new Error("connect timeout"));
    }, cluster.spec.connectTimeoutMs);
    socket.once(tls ? "secureConnect" : "connect", () => {
      clearTimeout(connectTimer);
      cluster.recordOutcome(index, 200, this.env.now()); // Envoy: LocalOriginConnectSuccessFinal → 200
      this.onConnected(socket);
    });
    socket.on("error", (err: NodeJS.ErrnoException) => {
      if (!this.connected) {
        const tlsReason = (err as { tlsReason?: string }).tlsReason;
        this.record.upstreamTransportFailureReason = timedOut ? "connect timeout" : tlsReason !== undefined ? `TLS_error:${tlsReason}:${err.message}` : (err.code ?? err.message);
      }
      else if (this.record.connectionTerminationDetails === "") this.record.connectionTerminationDetails = `upstream ${err.code ?? err.message}`;
    });
    socket.on("close", () => {
      clearTimeout(connectTimer);
      if (!released) {
        released = true;
        endpoint.active -= 1;
        cluster.breaker.release("connections");
      }
      this.upstreamClosed = true;
      if (socket !== this.upstream) return this.maybeFinish();
      if (!this.connected) return this.onConnectFailed(index, timedOut);
      const client = this.client;
      if (!this.upstreamReadEnded) {
        // Upstream reset (no FIN first): the client cannot get a clean end either.
        client.destroy();
      } else if (!this.clientReadEnded) {
        // The upstream is gone in both directions; whatever the client still sends has nowhere to
        // go. Close the client once the bytes already queued for it (and our FIN) are flushed.
        if (client.writableFinished) client.destroy();
        else client.once("finish", () => client.destroy());
      }
      this.maybeFinish();
    });
  }

  private onConnectFailed(index: number, timedOut: boolean): void {
    const cluster = this.cluster;
    cluster.stats.connectFailures += 1;
    if (timedOut) cluster.stats.timeouts += 1;
    // Envoy: LocalOriginConnectFailed → 503, LocalOriginTimeout → 504 (both gateway errors).
    cluster.recordOutcome(index, timedOut ? 504 : 503, this.env.now());
    this.record.responseFlags |= RESPONSE_FLAGS.UF;
    this.upstream = undefined;
    if (this.clientClosed) return this.maybeFinish();
    if (this.record.connectAttempts < (this.options.maxConnectAttempts ?? defaultMaxConnectAttempts)) return this.attempt();
    this.refuse(RESPONSE_FLAGS.URX);
  }

  private refuse(flag: ResponseFlagSet): void {
    this.record.responseFlags |= flag;
    if (this.options.onRefused) this.options.onRefused(this.client, this.record.responseFlags);
    else this.client.destroy();
    this.maybeFinish();
  }

  private onConnected(upstream: Socket): void {
    const client = this.client;
    this.connected = true;
    this.record.upstreamLocalAddress = localAddressOf(upstream);
    this.env.opened?.(this.record);
    this.options.onConnected?.(client);
    const initial = this.options.initialData;
    if (initial && initial.length > 0) {
      this.record.bytesReceived += initial.length;
      upstream.write(initial);
    }
    // Backpressure both ways: a side whose peer's buffer is full is paused until it drains.
    client.on("data", (chunk: Buffer) => {
      this.record.bytesReceived += chunk.length;
      this.bump();
      if (!upstream.write(chunk)) client.pause();
    });
    upstream.on("drain", () => client.resume());
    upstream.on("data", (chunk: Buffer) => {
      this.record.bytesSent += chunk.length;
      this.bump();
      if (!client.write(chunk)) upstream.pause();
    });
    client.on("drain", () => upstream.resume());
    upstream.on("end", () => {
      this.upstreamReadEnded = true;
      this.bump();
      if (!client.destroyed && client.writable) client.end();
    });
    if (this.clientReadEnded) upstream.end();
    this.armIdleTimer();
    // connectionPool.tcp.maxConnectionDuration: Istio sets tcp_proxy max_downstream_connection_duration (flag DT).
    const maxMs = this.cluster.spec.maxConnectionDurationMs;
    if (maxMs !== undefined && maxMs > 0) {
      this.durationTimer = setTimeout(() => {
        this.record.responseFlags |= RESPONSE_FLAGS.DT;
        this.close("max_downstream_connection_duration_reached");
      }, maxMs);
    }
    client.resume();
  }

  private bump(): void {
    this.lastActivityMs = this.env.now();
  }

  /** One timer per connection, re-armed only when it fires early (no per-chunk timer churn). */
  private armIdleTimer(): void {
    const idleMs = this.cluster.spec.tcpIdleTimeoutMs;
    if (!(idleMs > 0)) return;
    const check = (): void => {
      const idleFor = this.env.now() - this.lastActivityMs;
      if (idleFor >= idleMs) {
        this.idleTimer = undefined;
        this.close("tcp_session_idle_timeout");
        return;
      }
      this.idleTimer = setTimeout(check, idleMs - idleFor);
    };
    this.idleTimer = setTimeout(check, idleMs);
  }

  private maybeFinish(): void {
    if (this.done || !this.clientClosed || !this.upstreamClosed) return;
    this.done = true;
    if (this.idleTimer) clearTimeout(this.idleTimer);
    if (this.durationTimer) clearTimeout(this.durationTimer);
    this.record.durationMs = this.env.now() - this.startedMs;
    this.env.finished(this.record);
  }
}
