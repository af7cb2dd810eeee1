// Per-port HTTP inbound listeners, the HTTP counterpart of tcp/inbound-tcp-listeners.ts: every
// HTTP, HTTP2, gRPC or sniffed inbound port of the workload gets an HttpListener on
// `bind:<targetPort>` whose requests all go to that port's target (`inbound|<targetPort>||` at
// `appHost:<targetPort>`), so a workload with several ports has each port's requests reach its
// own application port, chosen per connection by the listener that accepted it. A port in
// --inbound-port-map listens on its mapped port instead (InboundTargets.byListenPort): under the
// injector's capture, where a REDIRECT rule per container port sends that port's connections there.
//
//   caller ─► bind:targetPort ─► HttpListener (the port's mTLS mode, authz, rate limits) ─► appHost:targetPort
//   pod:APP ─► REDIRECT ─► bind:LISTEN (--inbound-port-map APP:LISTEN) ─► the same         ─► appHost:APP
//   caller ─► bind:--inbound-port ─► `main` (or the port a mesh SNI names)                ─► appHost:--app-port
//
// Without iptables the sidecar and the application cannot share an address for these ports: with
// `--bind` equal to `--app-host` (or a wildcard) no per-port listener opens and every port's
// traffic arrives on the --inbound-port listener (under capture, where Node cannot read the
// original destination: docs/design/kubernetes.md).
//
// A Sidecar resource's ingress listener (InboundPort.listenPort) listens on its own port number,
// at its `bind` when set, and forwards to its defaultEndpoint (an address or a Unix socket); with
// `tls` the listener terminates TLS itself with the listener's certificate (`create` picks the
// acceptor), and PeerAuthentication does not apply to it, as in Istio.
import type { Logger } from "@meshwork/telemetry";
import type { HttpListener } from "./http-listener.ts";
import type { InboundTarget, InboundTargets } from "./inbound-targets.ts";

/** One per-port listener: the target its requests read (replaced by each config) and where it listens. */
export interface InboundPortListener {
  target: InboundTarget;
  readonly listenPort: number;
  /** The port's name when the listener opened (a rename keeps the listener). */
  readonly portName: string;
  /** Admin name: `inbound-http <port name>`. */
  readonly name: string;
}

export interface InboundHttpListenersOptions {
  /** Address the listeners bind (the sidecar's `--bind`). */
  readonly bind: string;
  /** The application's address (`--app-host`). */
  readonly appHost: string;
  readonly logger: Logger;
  /** Makes the listener of a port; its decisions read `entry.target` for every request. */
  readonly create: (entry: InboundPortListener) => HttpListener;
  /** A listener is listening (the sidecar lists it, counts its connections and drains it). */
  readonly opened: (entry: InboundPortListener, listener: HttpListener) => void;
  /** A listener left the config: it stops accepting and drains (`drained` settles when it is gone). */
  readonly closed: (entry: InboundPortListener, listener: HttpListener, drained: Promise<void>) => void;
  /** How long a closed listener's connections may finish. */
  readonly drainMs: number;
  /** True once the sidecar drains: no listener opens any more. */
  readonly isDraining: () => boolean;
}

interface Open {
  readonly entry: InboundPortListener;
  readonly listener: HttpListener;
}

export class InboundHttpListeners {
  private readonly options: InboundHttpListenersOptions;
  private readonly open = new Map<number, Open>();
  /** Ports already reported as not listened on (logged once, not on every config). */
  private readonly reported = new Set<number>();
  private applying: Promise<void> = Promise.resolve();

  constructor(options: InboundHttpListenersOptions) {
    this.options = options;
  }

  /**
   * Gives the open listeners their ports' new targets at once, then (one apply at a time, in
   * order) opens a listener for each listen port of `targets` (byListenPort) not open yet and
   * closes those the config no longer has. `mainPort` is the --inbound-port listener's own port,
   * never opened twice.
   */
  apply(targets: InboundTargets, mainPort: number): Promise<void> {
    for (const [port, { entry }] of this.open) {
      const target = targets.byListenPort.get(port);
      if (target !== undefined) entry.target = target;
    }
    const next = this.applying.then(() => this.applyNow(targets, mainPort));
    this.applying = next.catch(() => undefined);
    return next;
  }

  /** Bound listeners by port name (`inbound-http-<name>` → port). */
  get boundPorts(): Record<string, number> {
    const out: Record<string, number> = {};
    for (const { entry } of this.open.values()) out[`inbound-http-${entry.portName}`] = entry.listenPort;
    return out;
  }

  private async applyNow(targets: InboundTargets, mainPort: number): Promise<void> {
    for (const [port, open] of this.open) {
      if (targets.byListenPort.has(port)) continue;
      this.open.delete(port);
      this.options.logger.info("inbound HTTP listener closed", { port });
      this.options.closed(open.entry, open.listener, open.listener.drain(this.options.drainMs));
    }
    for (const [port, target] of targets.byListenPort) {
      if (this.open.has(port) || port === mainPort || this.options.isDraining()) continue;
      await this.listen(port, target);
    }
  }

  private async listen(port: number, target: InboundTarget): Promise<void> {
    const { logger } = this.options;
    // A Sidecar ingress listener binds its own address and forwards to its defaultEndpoint.
    const bind = target.port?.bind ?? this.options.bind;
    const appHost = target.port?.endpointHost ?? this.options.appHost;
    const portName = target.port?.portName ?? String(target.appPort);
    // A mapped listen port is never the application's, so only a listener at the port's own number can collide (a Unix socket never does).
    const onAppPort = !appHost.startsWith("unix://") && (port === target.appPort || port === target.port?.targetPort);
    if (onAppPort && (bind === appHost || bind === "0.0.0.0" || bind === "::")) {
      // The listener would be the application's own address. Not an error: the --inbound-port listener takes the port's traffic (captured, or a mesh SNI).
      if (!this.reported.has(port)) {
        this.reported.add(port);
        logger.info("inbound HTTP port served on the inbound listener only: the sidecar cannot listen on the application's own address", {
          port,
          portName,
          fix: "for a listener of its own, bind the sidecar (--bind) to another address than the application's (--app-host), e.g. the pod IP and 127.0.0.1",
        });
      }
      return;
    }
    const entry: InboundPortListener = { target, listenPort: port, portName, name: `inbound-http ${portName}` };
    const listener = this.options.create(entry);
    try {
      await listener.listen(port, bind);
    } catch (error) {
      logger.error("cannot listen on an inbound HTTP port; its traffic reaches only the inbound listener", {
        port,
        portName,
        err: error,
        fix: onAppPort
          ? "the sidecar listens on the port's targetPort and reaches the application at --app-host on the same port: bind the sidecar (--bind) to another address than --app-host, or free the port"
          : "the port is this application port's --inbound-port-map listen port: free it, or map the application port to another one",
      });
      return;
    }
    if (this.options.isDraining()) {
      // Drained while the port was being bound: it never serves.
      void listener.drain(0);
      return;
    }
    this.open.set(port, { entry, listener });
    this.options.opened(entry, listener);
    logger.info("inbound HTTP listener open", { port, bind, portName, protocol: target.port?.protocol ?? "http", tls: target.port?.tls?.mode ?? null, app: `${appHost}:${target.appPort}`, cluster: target.cluster.name });
  }
}
