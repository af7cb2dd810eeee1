// The HTTP inbound ports of the workload as the inbound listeners serve them: one Istio
// `inbound|<targetPort>||` cluster per port, speaking the port's protocol to the application
// (applicationClusterSpec), with the port's shared forward decision, rate limits and mutual-TLS
// mode. Rebuilt on every config, never changed in place; a port whose cluster did not change keeps
// its ClusterRuntime (counters, pools) and decision.
//
// Which port a request is for is decided per connection (Envoy picks the inbound filter chain by
// the original destination port, which Node cannot read: docs/design/kubernetes.md):
//   a per-port listener (bind:<targetPort>, or a        → that port
//     Sidecar ingress listener's bind:<port number>)
//   a mapped listener (--inbound-port-map APP:LISTEN,   → application port APP (the injector's
//     bind:LISTEN)                                        capture rule redirects APP there)
//   the --inbound-port listener, mutual TLS whose SNI  → the port with that service port and host
//     is a client sidecar's `outbound_.<port>_.<subset>_.<host>`
//   the --inbound-port listener otherwise              → `main`: --app-port, else the first HTTP port
import type { ClusterSpec, InboundPort, MtlsMode, ProxyConfig, RateLimitTable, RetryPolicy } from "@meshwork/proxy-core";
import { isInboundTcpPort } from "../tcp/inbound-tcp-listeners.ts";
import { ClusterRuntime, type PoolSource } from "./cluster-runtime.ts";
import { inboundDecision, type ForwardDecision } from "./route-request.ts";
import { applicationClusterSpec } from "./single-endpoint-cluster.ts";

/** One HTTP inbound port and what its requests go through. Read-only; a config builds new ones. */
export interface InboundTarget {
  /** The config's port (service port, name, protocol, host); undefined for --app-port when the config has no HTTP inbound port. */
  readonly port: InboundPort | undefined;
  /** Where the application listens for this port (`appHost:appPort`): the port's targetPort, or --app-port for `main`. */
  readonly appPort: number;
  /** `inbound|<appPort>||`. */
  readonly cluster: ClusterRuntime;
  /** The decision every origin-form request to the port shares (routeInbound). */
  readonly decision: ForwardDecision;
  /** The port's HTTPLocalRateLimitPolicies. */
  readonly limits: RateLimitTable;
  /** The port's PeerAuthentication mode (the per-port listener's; the --inbound-port listener follows `main`'s). */
  readonly mode: MtlsMode;
}

export interface InboundTargets {
  /** What the --inbound-port listener serves by default; undefined without --app-port and without an HTTP inbound port (503 NC). */
  readonly main: InboundTarget | undefined;
  /** Every HTTP inbound port of the config by target port (`main`'s port maps to `main`). */
  readonly byTargetPort: ReadonlyMap<number, InboundTarget>;
  /**
   * Where the per-port HTTP listeners listen and what each serves: an HTTP port at its targetPort,
   * or at its --inbound-port-map listen port, where the target is always that application port's
   * own; and `main` at its application port's listen port when the config has no port there.
   */
  readonly byListenPort: ReadonlyMap<number, InboundTarget>;
  /** By `<service port>|<host>` of the port, when the workload has several HTTP ports (else empty: nothing to choose). */
  readonly byService: ReadonlyMap<string, InboundTarget>;
  /** The clusters of the targets, each once (admin `/clusters`, `/config_dump`, pool retention). */
  readonly clusters: readonly ClusterRuntime[];
}

export interface InboundTargetOptions {
  /** `--app-port`: the application port of `main`; undefined = the first HTTP inbound port's targetPort. */
  readonly appPort: number | undefined;
  /** `--app-host`. */
  readonly appHost: string;
  readonly pools: PoolSource;
  readonly nowMs: number;
  /** Retries of inbound requests (Istio's inbound route has none). */
  readonly retries: RetryPolicy;
  /**
   * The rate-limit table of service port `port` (`--app-port` for a `main` without a config port);
   * `previous` is that port's table under the last config, whose buckets carry over.
   */
  readonly limitsFor: (port: number, previous: RateLimitTable | undefined) => RateLimitTable;
  /** The PeerAuthentication mode of application port `appPort` (portLevelMtls keys the workload's port). */
  readonly modeFor: (appPort: number) => MtlsMode;
  /** `--inbound-port-map`: application port → the port its own listener listens on (parseInboundPortMap). */
  readonly portMap?: ReadonlyMap<number, number> | undefined;
}

/** The inbound targets of `config`; `previous` (the last config's) lends its unchanged clusters, decisions and rate-limit buckets. */
export function buildInboundTargets(config: Pick<ProxyConfig, "inbound">, options: InboundTargetOptions, previous: InboundTargets | undefined): InboundTargets {
  // Raw TCP ports have listeners of their own (tcp/inbound-tcp-listeners.ts).
  const http = config.inbound.filter((port) => !isInboundTcpPort(port));
  const mainPort = options.appPort === undefined ? http[0] : (http.find((port) => port.targetPort === options.appPort) ?? http[0]);
  const mainAppPort = options.appPort ?? mainPort?.targetPort;
  const clusters: ClusterRuntime[] = [];
  const make = (port: InboundPort | undefined, appPort: number, before: InboundTarget | undefined): InboundTarget => {
    // A Sidecar ingress listener names its own application address (defaultEndpoint), cluster and limits.
    const spec = applicationClusterSpec(port?.endpointHost ?? options.appHost, appPort, port?.portName ?? "http", port?.protocol ?? "http", {
      name: port?.listenPort === undefined ? undefined : port.cluster,
      connectionPool: port?.connectionPool,
    });
    const kept = before !== undefined && sameCluster(before.cluster.spec, spec) ? before : undefined;
    const cluster = kept?.cluster ?? new ClusterRuntime(spec, options.pools, options.nowMs, undefined);
    clusters.push(cluster);
    return {
      port,
      appPort,
      cluster,
      decision: kept?.decision.retries === options.retries ? kept.decision : inboundDecision(cluster, options.retries),
      limits: options.limitsFor(port?.port ?? appPort, before?.limits),
      // portLevelMtls keys the port callers reach the workload on: a Sidecar ingress listener's own.
      mode: options.modeFor(port?.listenPort ?? appPort),
    };
  };
  const main = mainAppPort === undefined ? undefined : make(mainPort, mainAppPort, previous?.main);
  const byTargetPort = new Map<number, InboundTarget>();
  const byService = new Map<string, InboundTarget>();
  const byListenPort = new Map<number, InboundTarget>();
  const portMap = options.portMap ?? new Map<number, number>();
  for (const port of http) {
    const target = port === mainPort && main !== undefined ? main : make(port, port.targetPort, previous?.byTargetPort.get(port.targetPort));
    byTargetPort.set(port.targetPort, target);
    if (http.length > 1) byService.set(serviceKey(port.port, port.host), target);
    // A Sidecar ingress listener is captured (and listens) at its own port number, not at the application's.
    const ownPort = port.listenPort ?? port.targetPort;
    const listenPort = portMap.get(ownPort);
    if (listenPort === undefined) byListenPort.set(ownPort, target);
    // The capture rule sent this listener the connections to the container port itself: never --app-port's application.
    else byListenPort.set(listenPort, target.appPort === port.targetPort ? target : make(port, port.targetPort, previous?.byListenPort.get(listenPort)));
  }
  // --app-port without a config port of its own (a pod whose Service does not name it yet) keeps its HTTP target on its listener, as on --inbound-port.
  const mainListenPort = main === undefined ? undefined : portMap.get(main.appPort);
  if (main !== undefined && mainListenPort !== undefined && !config.inbound.some((port) => port.targetPort === main.appPort)) byListenPort.set(mainListenPort, main);
  return { main, byTargetPort, byListenPort, byService, clusters };
}

/**
 * `--inbound-port-map` entries (`APP_PORT:LISTEN_PORT`, e.g. `9080:15100`) as a map from
 * application port to listen port. Refuses a malformed entry, an application port given twice,
 * a listen port shared, or one that is an application port or one of the sidecar's `reserved`
 * ports (by name: inbound, outbound, admin, stats; values below 1 are not listening ports).
 */
export function parseInboundPortMap(entries: readonly string[], reserved: Readonly<Record<string, number>>): { ok: true; map: Map<number, number> } | { ok: false; message: string } {
  const map = new Map<number, number>();
  const fail = (message: string) => ({ ok: false as const, message: `--inbound-port-map (MESHWORK_INBOUND_PORT_MAP): ${message}` });
  for (const entry of entries) {
    const match = /^\s*(\d+):(\d+)\s*$/.exec(entry);
    const [app, listen] = match === null ? [NaN, NaN] : [Number(match[1]), Number(match[2])];
    if (!(app >= 1 && app <= 65535 && listen >= 1 && listen <= 65535)) return fail(`"${entry}" is not APP_PORT:LISTEN_PORT with ports from 1 to 65535: write e.g. 9080:15100,9443:15101`);
    if (map.has(app)) return fail(`application port ${app} is mapped twice: give each port one listener`);
    if ([...map.values()].includes(listen)) return fail(`listen port ${listen} is given to two application ports: give each its own`);
    const clash = Object.entries(reserved).find(([, port]) => port === listen);
    if (clash !== undefined) return fail(`${app}:${listen} listens on the sidecar's ${clash[0]} port: pick another listen port (the injector uses 15100 up)`);
    map.set(app, listen);
  }
  for (const [app, listen] of map) {
    if (map.has(listen)) return fail(`${app}:${listen} listens on application port ${listen}, which the map also serves: pick a port the application does not use`);
  }
  return { ok: true, map };
}

/**
 * The target a mutual-TLS connection with SNI `serverName` is for on the --inbound-port listener:
 * the port a client sidecar's `outbound_.<port>_.<subset>_.<host>` names, else `main`. Called per
 * connection (and per request of a TLS connection); plain text never gets here.
 */
export function targetForServerName(targets: InboundTargets, serverName: string | undefined): InboundTarget | undefined {
  if (targets.byService.size === 0 || serverName === undefined) return targets.main;
  const key = meshSniKey(serverName);
  return (key === undefined ? undefined : targets.byService.get(key)) ?? targets.main;
}

/** `outbound_.9090_.v1_.grpc.default.svc.cluster.local` → `9090|grpc.default.svc.cluster.local`; undefined for any other name. */
export function meshSniKey(serverName: string): string | undefined {
  const match = /^outbound_\.(\d+)_\.[^_]*_\.(.+)$/.exec(serverName);
  if (match === null) return undefined;
  return serviceKey(Number(match[1]), (match[2] as string).toLowerCase());
}

function serviceKey(port: number, host: string): string {
  return `${port}|${host}`;
}

/** Whether a kept ClusterRuntime still fits: same name, application address, protocol and limits (pools and counters carry over). */
function sameCluster(a: ClusterSpec, b: ClusterSpec): boolean {
  return (
    a.name === b.name &&
    a.endpoints[0]?.address === b.endpoints[0]?.address &&
    a.protocol === b.protocol &&
    a.portName === b.portName &&
    JSON.stringify(a.connectionPool) === JSON.stringify(b.connectionPool)
  );
}
