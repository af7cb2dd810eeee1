// Istio's inbound TCP filter chains, with explicit capture: every inbound port of the workload
// whose protocol is not HTTP by Istio's protocol selection (`protocol: TCP`/`TLS`/`MONGO`/
// `MYSQL`/`REDIS`, or a name prefix `tcp-`, `tls-`, `mongo-`, … — see portProtocol) gets a raw
// TCP listener that passes bytes to the application's port through the `inbound|<targetPort>||`
// cluster, under the port's PeerAuthentication mode (STRICT: mutual TLS only; PERMISSIVE: TLS or
// plain text, detected; DISABLE: plain text), with Istio's TCP metrics reported as `destination`
// (`istio_tcp_connections_opened_total`, `…_closed_total`, `…_sent_bytes_total`,
// `…_received_bytes_total`; source principal and `mutual_tls` for verified peers).
//
// Where it listens: Istio's inbound chain for a port listens where callers dial — the
// endpoint's port, which is the port's targetPort — and forwards to the application on the same
// port of the loopback. Without iptables both cannot bind one address, so the listener binds
// `bind:<targetPort>` and the application is reached at `appHost:<targetPort>`: the sidecar
// and the application need different addresses (as a pod IP and 127.0.0.1). `listenPortFor`
// changes the listening port, and so does --inbound-port-map (`portMap`), whose ports the
// injector's capture rules redirect each container port to (inboundTcpPorts). Ports whose
// protocol is HTTP, HTTP2, gRPC or unknown (sniffed in Istio) stay on the HTTP inbound listener.
// A mapped application port the config has no port for (and that is not --app-port, which the
// HTTP inbound listeners serve) is passed through as raw TCP, like Istio's
// InboundPassthroughCluster for ports no Service names.
//
//   caller ─► bind:targetPort ─► mTLS mode (InboundTcpTls) ─► AuthorizationPolicy ─► proxyTcp ─► appHost:targetPort
//                                 │ STRICT + plain text:        │ CUSTOM (envoyExtAuthzGrpc) → DENY → ALLOW
//                                 │ closed, stats.refused       │ denied: closed before the application is dialled
//
// A Sidecar resource's ingress listener of a TCP or TLS port (InboundPort.listenPort) listens on
// its port number (at its `bind` when set) and forwards to its defaultEndpoint, an address or a
// Unix socket; with `tls` it terminates TLS itself (InboundPortTls) instead of mesh mutual TLS.
//
// Authorization is Istio's TCP filter chain's (network ext_authz, then network RBAC), run once
// per connection after the mTLS decision, with the workload's current policies (`security`).
import { createServer, type Server, type Socket } from "node:net";
import { mtlsModeForPort, resolvePeerAuthentication, type InboundPort, type MtlsMode, type ProxyConfig } from "@meshwork/proxy-core";
import type { Logger } from "@meshwork/telemetry";
import type { TLSSocket } from "node:tls";
import type { ConnectionOutcome } from "../authz/authorize-connection.ts";
import type { InboundSecurity } from "../proxy/inbound-security.ts";
import { applicationClusterSpec } from "../proxy/single-endpoint-cluster.ts";
import { ClusterRuntime } from "../proxy/cluster-runtime.ts";
import { createTcpTelemetry, serviceLabels } from "../proxy/request-telemetry.ts";
import { RESPONSE_FLAGS } from "../telemetry/response-flags.ts";
import type { TelemetryPolicy } from "../telemetry/telemetry-policy.ts";
import type { IstioMetrics, PeerLabels } from "../telemetry/istio-metrics.ts";
import type { DownstreamSecurity } from "../tls/inbound-tls.ts";
import type { MeshTls } from "../tls/mesh-tls.ts";
import { PoolRegistry } from "../upstream/pool-registry.ts";
import { InboundPortTls } from "../proxy/inbound-port-tls.ts";
import { InboundTcpTls } from "./inbound-tcp-tls.ts";
import { proxyTcp, type TcpProxy, type TcpProxyEnvironment } from "./tcp-proxy.ts";
import { emptyTcpRecord } from "./tcp-record.ts";
import { formatAddress, localAddressOf } from "../proxy/socket-address.ts";

export interface InboundTcpOptions {
  /** Address the listeners bind (the sidecar's `--bind`). */
  readonly bind: string;
  /** The application's address (`--app-host`). */
  readonly appHost: string;
  /** Reporter `destination` metrics of the sidecar. */
  readonly metrics: IstioMetrics;
  /** The sidecar's SERVER-side Telemetry (access-log writer and filter). */
  readonly policy: Pick<TelemetryPolicy, "accessLog" | "logFilter">;
  readonly domainSuffix: string;
  readonly mesh: MeshTls;
  /** The workload PeerAuthentications apply to. */
  readonly workload: { readonly namespace: string; readonly labels: Readonly<Record<string, string>>; readonly rootNamespace: string };
  readonly logger: Logger;
  /** Monotonic ms. */
  readonly now: () => number;
  /** The port to listen on for an inbound TCP port; default its targetPort. */
  readonly listenPortFor?: ((port: InboundPort) => number) | undefined;
  /** `--inbound-port-map`: application port → listen port (over listenPortFor); unknown mapped ports pass through. */
  readonly portMap?: ReadonlyMap<number, number> | undefined;
  /** `--app-port`: a mapped port the config does not name is the HTTP inbound listeners' when it is this one. */
  readonly appPort?: number | undefined;
  /** The workload's current AuthorizationPolicies (rebuilt per config); undefined or empty: every connection is let through. */
  readonly security?: (() => InboundSecurity | undefined) | undefined;
  /** `--credential-dir`, for a Sidecar ingress listener's TLS (credentials are rejected there by validation; kept for GatewayTls). */
  readonly credentialDir?: string | undefined;
}

/** Whether Istio's protocol selection makes this inbound port raw TCP (not HTTP, not sniffed). */
export function isInboundTcpPort(port: InboundPort): boolean {
  return port.protocol === "tcp" || port.protocol === "tls";
}

/**
 * The inbound TCP listeners `inbound` asks for, by listen port: each raw TCP port at
 * `portMap`'s listen port for its targetPort, else `listenPortFor`'s, else its targetPort; and,
 * for each mapped application port that no inbound port targets and that is not `appPort`, a
 * pass-through port `inbound|<port>||` (plain TCP to the application, no service).
 */
export function inboundTcpPorts(
  inbound: readonly InboundPort[],
  options: Pick<InboundTcpOptions, "listenPortFor" | "portMap" | "appPort">,
): Map<number, InboundPort> {
  const wanted = new Map<number, InboundPort>();
  for (const port of inbound) {
    if (!isInboundTcpPort(port)) continue;
    // A Sidecar ingress listener is captured and listens at its own port number (listenPort).
    const own = port.listenPort ?? port.targetPort;
    wanted.set(options.portMap?.get(own) ?? port.listenPort ?? options.listenPortFor?.(port) ?? port.targetPort, port);
  }
  for (const [appPort, listenPort] of options.portMap ?? []) {
    if (appPort === options.appPort || wanted.has(listenPort) || inbound.some((port) => port.targetPort === appPort)) continue;
    wanted.set(listenPort, { port: appPort, targetPort: appPort, portName: `passthrough-${appPort}`, protocol: "tcp", cluster: `inbound|${appPort}||`, host: "" });
  }
  return wanted;
}

interface PortListener {
  inbound: InboundPort;
  readonly listenPort: number;
  readonly server: Server;
  cluster: ClusterRuntime;
  mode: MtlsMode;
  /** Telemetry per peer principal ("" = plain text). */
  readonly telemetry: Map<string, TcpProxyEnvironment>;
  readonly connections: Set<TcpProxy>;
  /** TLS the port terminates itself (a Sidecar ingress listener's `tls`), made when first needed. */
  portTls: InboundPortTls | undefined;
  /** Accepted sockets not proxied yet (in their TLS handshake or first-byte wait). */
  readonly pending: Set<Socket>;
  draining: boolean;
  /** Counters for the admin `/stats` (Envoy's listener and tcp_proxy stats). */
  readonly counters: InboundTcpCounters;
}

/** Counters of one inbound TCP listener since it opened. */
interface InboundTcpCounters {
  /** Connections accepted (`listener.….downstream_cx_total`). */
  accepted: number;
  /** Connections handed to the TCP proxy, after the mTLS mode let them in (`tcp.….downstream_cx_total`). */
  proxied: number;
  /** Bytes of the connections that ended (those still open are added at read time). */
  closedBytesReceived: number;
  closedBytesSent: number;
}

/** Envoy's network RBAC and ext_authz stats of the inbound TCP chains (Istio's stat prefix `tcp.`), for `/stats`. */
interface TcpAuthzCounters {
  /** `tcp.rbac.allowed`: connections AuthorizationPolicies let through (policies applied). */
  allowed: number;
  /** `tcp.rbac.denied`: connections a DENY policy or a missing ALLOW match closed. */
  denied: number;
  /** `ext_authz.tcp.denied`: connections the external authorizer denied. */
  externalDenied: number;
  /** `ext_authz.tcp.error`: connections closed because the external authorizer failed. */
  externalError: number;
}

export class InboundTcpListeners {
  readonly tls: InboundTcpTls;
  private readonly authz: TcpAuthzCounters = { allowed: 0, denied: 0, externalDenied: 0, externalError: 0 };
  private readonly options: InboundTcpOptions;
  private readonly ports = new Map<number, PortListener>();
  /** Pools of the application's ports: plain text, never shared with the outbound side. */
  private readonly pools = new PoolRegistry();
  private stopped = false;
  private drained: Promise<void> | undefined;
  private applying: Promise<void> = Promise.resolve();

  constructor(options: InboundTcpOptions) {
    this.options = options;
    this.tls = new InboundTcpTls(options.mesh, options.logger);
  }

  /**
   * Opens a listener for each inbound TCP port of `config` not open yet, updates the mode and
   * cluster of the open ones, and drains those the config no longer has. A port that cannot be
   * bound is logged and skipped (the rest of the config applies).
   */
  apply(config: ProxyConfig): Promise<void> {
    // One at a time, in order: a push that arrives while ports are being bound waits for them.
    const next = this.applying.then(() => this.applyNow(config));
    this.applying = next.catch(() => undefined);
    return next;
  }

  private async applyNow(config: ProxyConfig): Promise<void> {
    if (this.stopped) return;
    const { workload } = this.options;
    const effective = resolvePeerAuthentication(config.peerAuthentications ?? [], { namespace: workload.namespace, labels: workload.labels }, config.rootNamespace ?? workload.rootNamespace);
    const wanted = inboundTcpPorts(config.inbound, this.options);
    for (const [listenPort, entry] of this.ports) {
      if (wanted.has(listenPort)) continue;
      this.ports.delete(listenPort);
      this.options.logger.info("inbound TCP listener closed", { port: listenPort });
      void this.drainOne(entry, 5_000);
    }
    for (const [listenPort, inbound] of wanted) {
      const mode = mtlsModeForPort(effective, inbound.targetPort);
      const existing = this.ports.get(listenPort);
      if (existing) {
        existing.mode = mode;
        if (
          existing.inbound.targetPort !== inbound.targetPort ||
          existing.inbound.host !== inbound.host ||
          existing.inbound.endpointHost !== inbound.endpointHost ||
          JSON.stringify(existing.inbound.connectionPool) !== JSON.stringify(inbound.connectionPool)
        ) {
          existing.cluster = this.cluster(inbound);
          existing.telemetry.clear();
        }
        existing.inbound = inbound;
        continue;
      }
      await this.open(listenPort, inbound, mode);
    }
  }

  /** Bound listeners: `inbound-tcp <port>` → address, for the admin page. */
  get listeners(): { name: string; address: string; mode: MtlsMode; cluster: string }[] {
    return [...this.ports.values()].map((p) => ({ name: `inbound-tcp ${p.inbound.portName}`, address: `${p.inbound.bind ?? this.options.bind}:${p.listenPort}`, mode: p.mode, cluster: p.cluster.name }));
  }

  /** Bound listening ports by inbound port name. */
  get boundPorts(): Record<string, number> {
    const out: Record<string, number> = {};
    for (const p of this.ports.values()) out[p.inbound.portName] = p.listenPort;
    return out;
  }

  /** The `inbound|<targetPort>||` clusters (admin `/clusters`, stats). */
  get clusters(): ClusterRuntime[] {
    return [...this.ports.values()].map((p) => p.cluster);
  }

  /** Whether the listeners stopped accepting for good (`drain`). */
  get draining(): boolean {
    return this.stopped;
  }

  /**
   * Envoy-style counters for the admin `/stats`, per listener (`listener.inbound_tcp.<port name>.*`:
   * connections accepted and open) and per TCP proxy (`tcp.<cluster>.*`: connections proxied and
   * bytes both ways), then the listeners' TLS counters (`listener.inbound_tcp.ssl.*`).
   */
  stats(): [string, number][] {
    const out: [string, number][] = [];
    for (const p of this.ports.values()) {
      const listener = `listener.inbound_tcp.${p.inbound.portName}`;
      let received = p.counters.closedBytesReceived;
      let sent = p.counters.closedBytesSent;
      for (const proxy of p.connections) {
        received += proxy.record.bytesReceived;
        sent += proxy.record.bytesSent;
      }
      const tcp = `tcp.${p.cluster.name}`;
      out.push(
        [`${listener}.downstream_cx_total`, p.counters.accepted],
        [`${listener}.downstream_cx_active`, p.connections.size + p.pending.size],
        [`${listener}.draining`, p.draining ? 1 : 0],
        [`${tcp}.downstream_cx_total`, p.counters.proxied],
        [`${tcp}.downstream_cx_rx_bytes_total`, received],
        [`${tcp}.downstream_cx_tx_bytes_total`, sent],
      );
    }
    out.push(
      ["listener.inbound_tcp.ssl.handshake", this.tls.stats.handshakes],
      ["listener.inbound_tcp.ssl.refused", this.tls.stats.refused],
      ["listener.inbound_tcp.plaintext", this.tls.stats.plaintext],
      ["tcp.rbac.allowed", this.authz.allowed],
      ["tcp.rbac.denied", this.authz.denied],
      ["ext_authz.tcp.denied", this.authz.externalDenied],
      ["ext_authz.tcp.error", this.authz.externalError],
    );
    return out;
  }

  get connectionCount(): number {
    let n = 0;
    for (const p of this.ports.values()) n += p.connections.size + p.pending.size;
    return n;
  }

  /** Stops accepting; open connections end by themselves until `deadlineMs`, then are closed. */
  drain(deadlineMs: number): Promise<void> {
    // Idempotent: admin `POST /drain` and the stop hook both drain; the first deadline holds.
    if (this.drained) return this.drained;
    this.stopped = true;
    // A draining listener stays listed (admin `/stats`, `/clusters`) until its last connection ends.
    const all = [...this.ports.entries()];
    this.drained = Promise.all(
      all.map(async ([listenPort, p]) => {
        await this.drainOne(p, deadlineMs);
        this.ports.delete(listenPort);
      }),
    ).then(() => this.pools.closeAll());
    return this.drained;
  }

  private async open(listenPort: number, inbound: InboundPort, mode: MtlsMode): Promise<void> {
    // A Sidecar ingress listener binds its own address and forwards to its defaultEndpoint.
    const bind = inbound.bind ?? this.options.bind;
    const appHost = inbound.endpointHost ?? this.options.appHost;
    if (listenPort === inbound.targetPort && !appHost.startsWith("unix://") && (bind === appHost || bind === "0.0.0.0" || bind === "::")) {
      // The listener would be the application's own address: every connection would loop back into the sidecar.
      this.options.logger.error("inbound TCP port not served: the sidecar would listen on the application's own address", {
        port: listenPort,
        portName: inbound.portName,
        fix: "bind the sidecar (--bind) to another address than the application's (--app-host), e.g. the pod IP and 127.0.0.1",
      });
      return;
    }
    // allowHalfOpen: a client's FIN goes to the application while its answer can still come back.
    const server = createServer({ allowHalfOpen: true, pauseOnConnect: true, noDelay: true });
    const entry: PortListener = {
      inbound,
      listenPort,
      server,
      cluster: this.cluster(inbound),
      mode,
      telemetry: new Map(),
      connections: new Set(),
      portTls: undefined,
      pending: new Set(),
      draining: false,
      counters: { accepted: 0, proxied: 0, closedBytesReceived: 0, closedBytesSent: 0 },
    };
    server.on("connection", (socket: Socket) => this.accept(entry, socket));
    try {
      await new Promise<void>((resolve, reject) => {
        server.once("error", reject);
        server.listen({ port: listenPort, host: bind, backlog: 1024 }, () => {
          server.off("error", reject);
          resolve();
        });
      });
    } catch (error) {
      this.options.logger.error("cannot listen on an inbound TCP port; its traffic is not served", {
        port: listenPort,
        portName: inbound.portName,
        err: error,
        fix: "the sidecar listens on the port's targetPort and reaches the application at --app-host on the same port: bind the sidecar (--bind) to another address than --app-host",
      });
      return;
    }
    if (this.stopped) {
      // Drained while the port was being bound: it never serves.
      server.close();
      return;
    }
    this.ports.set(listenPort, entry);
    this.options.logger.info("inbound TCP listener open", { port: listenPort, bind, portName: inbound.portName, app: `${appHost}:${inbound.targetPort}`, mtls: inbound.tls === undefined ? mode : `terminated ${inbound.tls.mode}` });
  }

  private accept(entry: PortListener, socket: Socket): void {
    if (entry.draining) {
      socket.destroy();
      return;
    }
    entry.counters.accepted += 1;
    entry.pending.add(socket);
    socket.once("close", () => entry.pending.delete(socket));
    const continued = (client: Socket, security: DownstreamSecurity | undefined): void => {
      if (entry.draining || client.destroyed) {
        entry.pending.delete(socket);
        client.destroy();
        return;
      }
      const guard = this.options.security?.();
      if (guard === undefined || !guard.authorizes) {
        entry.pending.delete(socket);
        this.proxy(entry, client, security);
        return;
      }
      const sni = security ? (client as TLSSocket).servername : undefined;
      const outcome = guard.checkConnection({
        socket: client,
        principal: security?.peerPrincipal,
        peerSpiffeId: security?.peerSpiffeId,
        localSpiffeId: security ? this.options.mesh.current?.spiffeId : undefined,
        destinationPort: entry.inbound.targetPort,
        sni: typeof sni === "string" && sni !== "" ? sni : undefined,
      });
      if (!(outcome instanceof Promise)) {
        entry.pending.delete(socket);
        this.admit(entry, client, security, outcome);
        return;
      }
      // The client's bytes wait (paused) until the check answers; a drain meanwhile closes it (still pending).
      client.pause();
      void outcome.then((settled) => {
        entry.pending.delete(socket);
        if (entry.draining || client.destroyed) {
          client.destroy();
          return;
        }
        this.admit(entry, client, security, settled);
      });
    };
    if (entry.inbound.tls === undefined) {
      this.tls.accept(socket, entry.mode, continued);
      return;
    }
    // A Sidecar ingress listener's own TLS: the application gets the decrypted bytes; no mesh peer identity.
    entry.portTls ??= new InboundPortTls({
      tls: () => entry.inbound.tls,
      mesh: { accept: (plain) => void plain.destroy() },
      meshTls: this.options.mesh,
      credentialDir: this.options.credentialDir,
      logger: this.options.logger,
      port: entry.listenPort,
    });
    entry.portTls.accept(socket, (client, security) => continued(client, security));
  }

  /** Proxies an authorized connection, or closes a denied one with its access-log record (UAEX for the external authorizer's). */
  private admit(entry: PortListener, client: Socket, security: DownstreamSecurity | undefined, outcome: ConnectionOutcome): void {
    if (outcome.type === "allow") {
      this.authz.allowed += 1;
      this.proxy(entry, client, security);
      return;
    }
    if (outcome.flag === undefined) this.authz.denied += 1;
    else if (outcome.details === "ext_authz_error") this.authz.externalError += 1;
    else this.authz.externalDenied += 1;
    this.options.logger.debug("inbound TCP connection denied", { port: entry.listenPort, reason: outcome.reason, policy: outcome.policy ?? null, remote: client.remoteAddress ?? "" });
    const env = this.telemetryFor(entry, security);
    const record = emptyTcpRecord(env.wallClockMs());
    if (outcome.flag !== undefined) record.responseFlags = RESPONSE_FLAGS[outcome.flag];
    record.upstreamCluster = entry.cluster.name;
    record.routeName = entry.cluster.name;
    record.downstreamRemoteAddress = formatAddress(client.remoteAddress, client.remotePort);
    record.downstreamLocalAddress = localAddressOf(client);
    record.connectionTerminationDetails = outcome.details;
    client.destroy();
    env.finished(record);
  }

  private proxy(entry: PortListener, client: Socket, security: DownstreamSecurity | undefined): void {
    const proxy = proxyTcp(client, entry.cluster, this.telemetryFor(entry, security), { routeName: entry.cluster.name });
    entry.counters.proxied += 1;
    entry.connections.add(proxy);
    client.once("close", () => {
      if (!entry.connections.delete(proxy)) return;
      entry.counters.closedBytesReceived += proxy.record.bytesReceived;
      entry.counters.closedBytesSent += proxy.record.bytesSent;
    });
  }

  private telemetryFor(entry: PortListener, security: DownstreamSecurity | undefined): TcpProxyEnvironment {
    const key = security?.peerSpiffeId ?? "";
    let env = entry.telemetry.get(key);
    if (!env) {
      const o = this.options;
      env = createTcpTelemetry({
        metrics: o.metrics,
        policy: o.policy,
        domainSuffix: o.domainSuffix,
        now: o.now,
        clusters: () => new Map([[entry.cluster.name, entry.cluster]]),
        binding: {
          peer: security ? sourceOf(security.peerSpiffeId) : {},
          service: serviceLabels(entry.inbound.host, o.domainSuffix),
          securityPolicy: security ? "mutual_tls" : "none",
        },
      });
      entry.telemetry.set(key, env);
    }
    return env;
  }

  private cluster(inbound: InboundPort): ClusterRuntime {
    const host = inbound.endpointHost ?? this.options.appHost;
    const port = inbound.targetPort;
    const spec = applicationClusterSpec(host, port, inbound.portName, "tcp", { name: inbound.listenPort === undefined ? undefined : inbound.cluster, connectionPool: inbound.connectionPool });
    return new ClusterRuntime(spec, this.pools, this.options.now(), undefined);
  }

  private async drainOne(entry: PortListener, deadlineMs: number): Promise<void> {
    entry.draining = true;
    entry.portTls?.close();
    for (const socket of entry.pending) socket.destroy();
    const closed = new Promise<void>((resolve) => entry.server.close(() => resolve()));
    const deadline = Date.now() + deadlineMs;
    while (entry.connections.size > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    for (const proxy of entry.connections) proxy.close("drain");
    await closed;
  }
}

/** Source labels of a verified peer: its principal and, for `spiffe://td/ns/<ns>/sa/<sa>`, its namespace. */
function sourceOf(spiffeId: string): PeerLabels {
  const labels: PeerLabels = { principal: spiffeId };
  const match = /^spiffe:\/\/[^/]+\/ns\/([^/]+)\/sa\/[^/]+$/.exec(spiffeId);
  if (match?.[1] !== undefined) labels.namespace = match[1];
  return labels;
}
