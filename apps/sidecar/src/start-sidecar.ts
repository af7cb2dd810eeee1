// Composition root of one sidecar process: config source → snapshot → listeners (outbound,
// inbound), telemetry (Istio metrics, traces, access log), the admin and stats servers, outlier
// bookkeeping and graceful drain. A config that fails validation is logged and the last good one
// keeps serving; a sidecar that never got a good config is not ready.
import type { Server } from "node:http";
import { isIP } from "node:net";
import type { ClusterSpec, EffectivePeerAuthentication, InboundPort, Locality, MeshH2UpgradePolicy, MtlsMode, ProxyConfig } from "@meshwork/proxy-core";
import { compileRateLimits, compileRetryPolicy, compileTcpRouteTable, gatewayListeners, mtlsModeForPort, resolvePeerAuthentication, type GatewayListener } from "@meshwork/proxy-core";
import type { Logger } from "@meshwork/telemetry";
import { createAdminServer, createStatsServer, type SidecarState } from "./admin-server.ts";
import type { ConfigDirLoader, LoadConfigDirOptions, LoadConfigDirResult } from "./config/config-from-resources.ts";
import type { ConfigDirWatcher } from "./config/watch-config-dir.ts";
import { heapCompactor } from "./config/heap-compactor.ts";
import { defaultHeadLimits } from "./http1/parse-request-head.ts";
import { admit, OverloadMonitor, type AdmissionCounters } from "./proxy/admission-control.ts";
import { buildSnapshot, type BuiltSnapshot } from "./proxy/build-snapshot.ts";
import type { ClusterRuntime } from "./proxy/cluster-runtime.ts";
import { buildInboundTargets, parseInboundPortMap, targetForServerName, type InboundTarget, type InboundTargets } from "./proxy/inbound-targets.ts";
import { InboundHttpListeners, type InboundPortListener } from "./proxy/inbound-http-listeners.ts";
import { InboundPortTls } from "./proxy/inbound-port-tls.ts";
import { HttpListener } from "./proxy/http-listener.ts";
import { createRequestTelemetry, createTcpTelemetry, serviceLabels } from "./proxy/request-telemetry.ts";
import { handleConnectTunnel } from "./tcp/connect-tunnel.ts";
import { chooseGatewayTcpCluster } from "./tcp/choose-gateway-tcp-cluster.ts";
import { startTcpListener, type TcpListener } from "./tcp/tcp-listener.ts";
import { InboundTcpListeners, isInboundTcpPort } from "./tcp/inbound-tcp-listeners.ts";
import { bindingChooser, parseTcpUpstreamBinding } from "./tcp/tcp-upstream-binding.ts";
import { egressListenerChooser } from "./tcp/egress-listener-chooser.ts";
import { ExplicitEgressListeners } from "./proxy/explicit-egress-listeners.ts";
import { headerRecord, routeInbound, routeOutbound, type Decision } from "./proxy/route-request.ts";
import { routeGateway } from "./proxy/route-gateway.ts";
import { decideSecured } from "./proxy/decide-secured.ts";
import { gatewayRequestPeer } from "./proxy/gateway-request-peer.ts";
import { forwardedClientAddress } from "./proxy/forwarded-client-address.ts";
import { gatewayForwardedHeaders } from "./proxy/gateway-forwarded-headers.ts";
import { directRemoteAddress, newProxyProtocolStats, proxyProtocolAcceptor, proxyProtocolStatLines, readProxyProtocol, restoreRemoteAddress, type ProxyProtocolOptions } from "./proxy/accept-proxy-protocol.ts";
import { buildInboundSecurity, type InboundSecurityBuild } from "./build-inbound-security.ts";
import type { ExternalAuthorizer } from "./authz/check-external.ts";
import { defaultMeshAuthzConfig, type MeshAuthzConfig } from "./authz/mesh-authz-config.ts";
import { mirrorStats } from "./proxy/send-mirror.ts";
import { dnsProxyPort, type SidecarSettings } from "./sidecar-settings.ts";
import { appHealthRoutes } from "./app-health/app-health-routes.ts";
import { parseAppProbers } from "./app-health/parse-app-probers.ts";
import { AccessLogWriter, openAccessLogStream } from "./telemetry/access-log.ts";
import { createIstioMetrics, type PeerLabels } from "./telemetry/istio-metrics.ts";
import { TelemetryPolicy, type TelemetryDefaults } from "./telemetry/telemetry-policy.ts";
import { clusterStatsSync } from "./telemetry/sync-cluster-stats.ts";
import { peerMetadataHeaderLines } from "./proxy/peer-metadata.ts";
import { createTracing, type Tracing } from "./telemetry/tracing.ts";
import { UpstreamSessions } from "./http2/upstream-sessions.ts";
import { PoolRegistry } from "./upstream/pool-registry.ts";
import type { ExchangeEnvironment } from "./proxy/exchange.ts";
import { GatewayTls } from "./tls/gateway-tls.ts";
import { InboundTls, type DownstreamSecurity, type TlsAcceptor } from "./tls/inbound-tls.ts";
import { MeshTls } from "./tls/mesh-tls.ts";
import { loadPkiChecks } from "./tls/pki-checks.ts";
import type { IdentitySource } from "./tls/tls-identity.ts";
import { UpstreamTls, upstreamTlsFor, upstreamTlsKey } from "./tls/upstream-tls.ts";
import { Counter, Registry } from "./telemetry/prom-client-core.ts";
import { readFile } from "node:fs/promises";
import type { DnsProxy } from "./dns/start-dns-proxy.ts";

/**
 * One client (one gRPC channel) per envoyExtAuthzGrpc provider of the mesh config, kept for the
 * process's life — the mesh config is read once — and closed at stop. The gRPC client and grpc-js
 * load only when there is such a provider.
 */
async function startGrpcAuthorizers(mesh: MeshAuthzConfig, deps: SidecarDeps): Promise<ReadonlyMap<string, ExternalAuthorizer> | undefined> {
  const providers = mesh.extensionProviders.filter((provider) => provider.type === "grpc");
  if (providers.length === 0) return undefined;
  const { ExtAuthzGrpcClient } = await import("./authz/ext-authz-grpc-client.ts");
  const clients = new Map(providers.map((provider) => [provider.name, new ExtAuthzGrpcClient(provider, deps.random ? { random: deps.random } : {})]));
  deps.onStop("external authorizers", () => {
    for (const client of clients.values()) client.close();
  });
  return clients;
}

/** Reads --mesh-config; a bad file stops the start with the errors (a sidecar must not guess its authorizers). */
async function readMeshConfig(
  path: string,
  logger: Logger,
): Promise<{ readonly config: MeshAuthzConfig; readonly h2UpgradePolicy: MeshH2UpgradePolicy | undefined; readonly numTrustedProxies: number | undefined; readonly proxyProtocol: boolean | undefined }> {
  const { parseMeshConfig } = await import("./authz/parse-mesh-config.ts");
  const parsed = parseMeshConfig(await readFile(path, "utf8"), path);
  if (!parsed.ok) throw new Error(`--mesh-config ${path}: ${parsed.errors.join("; ")}`);
  for (const warning of parsed.warnings) logger.warn("mesh config warning", { detail: warning });
  return { config: parsed.config, h2UpgradePolicy: parsed.h2UpgradePolicy, numTrustedProxies: parsed.numTrustedProxies, proxyProtocol: parsed.proxyProtocol };
}

export interface SidecarDeps {
  readonly logger: Logger;
  /** Changes the log level (`POST /logging`); false for an unknown level. */
  readonly setLogLevel: (level: string) => boolean;
  readonly onStop: (name: string, hook: () => Promise<void> | void) => void;
  /** Uniform [0, 1) for weighted picks, balancers, faults and sampling; Math.random by default. */
  readonly random?: () => number;
}

export interface RunningSidecar {
  readonly state: SidecarState;
  /** Bound ports by listener name (`outbound`, `inbound`, `admin`, `stats`). */
  readonly ports: Readonly<Record<string, number>>;
  /** Applies a config (standalone reload or a discovery push). */
  applyConfig(config: ProxyConfig): void;
  drain(): Promise<void>;
}

export async function startSidecar(settings: SidecarSettings, deps: SidecarDeps): Promise<RunningSidecar> {
  const logger = deps.logger;
  const random = deps.random ?? Math.random;
  const now = (): number => performance.now();
  const labels = parseLabels(settings.labels);
  const mesh = settings.meshConfig === undefined ? undefined : await readMeshConfig(settings.meshConfig, logger);
  const meshConfig = mesh?.config ?? defaultMeshAuthzConfig;
  const grpcAuthorizers = await startGrpcAuthorizers(meshConfig, deps);
  const h2UpgradePolicy = settings.h2UpgradePolicy ?? mesh?.h2UpgradePolicy;
  // Router mode's remote.ip: X-Forwarded-For entries of this many proxies in front are trusted (Istio's gatewayTopology).
  const numTrustedProxies = settings.numTrustedProxies ?? mesh?.numTrustedProxies ?? 0;
  if (numTrustedProxies < 0) throw new Error(`--num-trusted-proxies ${numTrustedProxies}: give the number of proxies in front of the gateway (0 or more; 0 = remote.ip is the TCP peer)`);
  // Router mode's gateway listeners expect a PROXY protocol header (Istio's gatewayTopology.proxyProtocol; sidecars ignore the mesh-wide setting, as Istio's do).
  const proxyProtocol = settings.proxyMode === "router" && (settings.proxyProtocol || mesh?.proxyProtocol === true);
  if (settings.proxyProtocol && settings.proxyMode !== "router") logger.warn("--proxy-protocol applies to gateway listeners only (--proxy-mode router); ignored", {});
  // A Sidecar resource configures sidecars, never a gateway (router mode), as in Istio.
  const loadOptions = { namespace: settings.namespace, domainSuffix: settings.domainSuffix, proxyLabels: labels, workloadName: settings.workloadName, trustDomain: settings.trustDomain, rootNamespace: settings.rootNamespace, h2UpgradePolicy, autoAllocateAddresses: settings.dnsAutoAllocate, applySidecar: settings.proxyMode !== "router" };
  // Standalone: the first read of the config directory starts now and runs (in its own process in
  // a build) while the rest of the sidecar starts; it is awaited where the config is applied.
  const configDir = settings.config !== undefined && settings.discoveryAddress.length === 0 ? openConfigDir(settings.config, loadOptions) : undefined;
  configDir?.catch(() => undefined); // awaited below; a start that fails before then must not leave it unhandled
  const pools = new PoolRegistry();
  const http2Upstreams = new UpstreamSessions();
  const registry = new Registry();
  const self: PeerLabels = { namespace: settings.namespace, workload: settings.workloadName ?? labels["app"] ?? "unknown" };
  if (labels["app"] !== undefined) self.app = labels["app"];
  if (labels["version"] !== undefined) self.version = labels["version"];
  // With the mesh CA the SVID is exactly this ID (the CA issues the token's namespace and account).
  if (settings.caAddress !== undefined) self.principal = `spiffe://${settings.trustDomain}/ns/${settings.namespace}/sa/${settings.serviceAccount}`;
  const outboundMetrics = createIstioMetrics({ reporter: "source", self, registry });
  const inboundMetrics = createIstioMetrics({ reporter: "destination", self, registry });
  const nodeId = `sidecar~${settings.bind}~${self.workload}.${settings.namespace}~${settings.namespace}.svc.${settings.domainSuffix}`;
  // Istio's metadata exchange: who this workload is, for the peer sidecar's telemetry.
  const metadataLines = peerMetadataHeaderLines(
    { name: self.workload ?? "unknown", namespace: settings.namespace, workloadName: self.workload ?? "unknown", labels, clusterId: "Kubernetes", meshId: settings.trustDomain, serviceAccount: settings.serviceAccount },
    nodeId,
  );
  const tracing: Tracing = createTracing({
    samplingPercent: settings.traceSampling,
    nodeId,
    serviceName: `${self.app ?? self.workload}.${settings.namespace}`,
    namespace: settings.namespace,
    ...(settings.otlpEndpoint !== undefined ? { otlpEndpoint: settings.otlpEndpoint } : {}),
  });
  const identitySource = await startIdentitySource(settings, logger);
  if (settings.workloadApiSocket !== undefined) {
    // Loaded only with --workload-api-socket: the SPIFFE Workload API for the workload (grpc-js on a Unix socket).
    const { startSidecarWorkloadApi } = await import("./tls/workload-api-source.ts");
    const workloadApi = await startSidecarWorkloadApi(identitySource, { socketPath: settings.workloadApiSocket, logger });
    deps.onStop("workload api", () => workloadApi.close());
  }
  const meshTls = new MeshTls(identitySource, { minVersion: settings.tlsMinVersion as "TLSv1.3" | "TLSv1.2", trustDomain: settings.trustDomain, credentialDir: settings.credentialDir }, logger);
  // One UpstreamTls per (TLS settings, endpoint), kept across configs so TLS sessions resume.
  const upstreamTls = new Map<string, UpstreamTls>();
  const tlsResolverFor = (config: ProxyConfig) => (cluster: ClusterSpec, index: number): UpstreamTls | undefined => {
    // Auto mTLS needs a certificate of our own: a sidecar started without an identity source
    // (no --cert-dir, no --ca-address) talks plain text unless a DestinationRule asks for TLS.
    if (identitySource === undefined && cluster.tls === undefined) return undefined;
    const spec = upstreamTlsFor(cluster, index, config);
    if (!spec) return undefined;
    const key = `${upstreamTlsKey(spec)}|${cluster.endpoints[index]?.address ?? ""}`;
    let tls = upstreamTls.get(key);
    if (!tls) {
      tls = new UpstreamTls(spec, meshTls);
      upstreamTls.set(key, tls);
    }
    return tls;
  };
  /** The PeerAuthentication mode of the inbound listener's port under the current config. */
  let inboundMode: MtlsMode = "PERMISSIVE";
  const accessLog = settings.accessLog === "off" ? undefined : new AccessLogWriter({ stream: settings.accessLog === "stdout" ? process.stdout : openAccessLogStream(settings.accessLog) });
  // Telemetry resources (mesh → namespace → workload, resolved in proxy-core) per side: outbound is
  // Istio's CLIENT mode, inbound SERVER. A Telemetry that turns logs on while --access-log is off
  // writes to stdout, as Istio's envoy provider does.
  let stdoutAccessLog: AccessLogWriter | undefined;
  const telemetryDefaults: TelemetryDefaults = {
    accessLog,
    stdoutAccessLog: () => (stdoutAccessLog ??= new AccessLogWriter({ stream: process.stdout })),
    samplingPercent: settings.traceSampling,
    env: process.env,
  };
  const clientTelemetry = new TelemetryPolicy(telemetryDefaults);
  const serverTelemetry = new TelemetryPolicy(telemetryDefaults);

  // One compacting GC a second after a config is applied gives back the pages its loading took
  // (with the launcher's --expose-gc; a no-op without it). src/config/heap-compactor.ts.
  const compactor = heapCompactor({ delayMs: 1000, minIntervalMs: 30_000 });
  let snapshot: BuiltSnapshot | undefined;
  let inboundSecurity: InboundSecurityBuild | undefined;
  /** Set once the listeners exist: router mode re-binds its Gateway ports after each config. */
  let onApplied: (() => void) | undefined;
  // Kubernetes probes the injector rewrote to the stats port (parsed first: a bad value stops the start).
  const probers = parseAppProbers(settings.kubeAppProbers);
  if (!probers.ok) throw new Error(probers.message);
  const appHealth = appHealthRoutes(probers.probers, { defaultHost: settings.appHost });
  let configErrors: readonly string[] = [];
  let configWarnings: readonly string[] = [];
  let draining = false;
  /** The HTTP inbound ports' clusters, decisions, rate limits and modes under the current config (proxy/inbound-targets.ts). */
  let inboundTargets: InboundTargets | undefined;
  const inboundRetries = compileRetryPolicy({ attempts: 0 });
  const admission: AdmissionCounters = { shed: 0, rateLimited: 0 };
  // Envoy's RBAC and jwt_authn filter stats on the inbound listener (Istio's dashboards read them).
  const securityCounter = (name: string, help: string): Counter => new Counter({ name, help, registers: [registry] });
  const securityStats = {
    rbacAllowed: securityCounter("envoy_http_inbound_rbac_allowed", "Inbound requests AuthorizationPolicies allowed."),
    rbacDenied: securityCounter("envoy_http_inbound_rbac_denied", "Inbound requests AuthorizationPolicies (or the external authorizer) denied."),
    jwtDenied: securityCounter("envoy_http_inbound_jwt_authn_denied", "Inbound requests refused for an invalid JWT."),
  };
  const proxyLocality: Locality | undefined = parseLocality(settings.locality);
  const syncClusterStats = clusterStatsSync(outboundMetrics.proxyStats);

  // --inbound-port-map: application ports with listeners of their own (the injector's per-port capture rules).
  const parsedPortMap = parseInboundPortMap(settings.inboundPortMap, { inbound: settings.inboundPort, outbound: settings.outboundPort, admin: settings.adminPort, stats: settings.statsPort });
  if (!parsedPortMap.ok) throw new Error(parsedPortMap.message);
  const inboundPortMap = parsedPortMap.map;

  const emptyConfig: ProxyConfig = {
    version: "",
    routeTable: { gateways: new Map(), issues: [] },
    tcpRoutes: compileTcpRouteTable([], [], { namespace: settings.namespace, domainSuffix: settings.domainSuffix }),
    clusters: new Map(),
    inbound: [],
    services: [],
    rateLimitPolicies: [],
  };
  const resolveInboundMode = (config: ProxyConfig): EffectivePeerAuthentication => {
    const effective = resolvePeerAuthentication(config.peerAuthentications ?? [], { namespace: settings.namespace, labels }, config.rootNamespace ?? settings.rootNamespace);
    const port = settings.appPort ?? httpInbound(config)?.targetPort;
    const mode = port === undefined ? effective.mode : mtlsModeForPort(effective, port);
    if (mode !== inboundMode) logger.info("inbound mutual TLS mode", { mode, port: port ?? null, mesh: effective.mesh ?? null, namespace: effective.namespace ?? null, workload: effective.workload ?? null });
    inboundMode = mode;
    return effective;
  };
  const inboundTargetsOf = (config: ProxyConfig, effective: EffectivePeerAuthentication, previous: InboundTargets | undefined): InboundTargets =>
    buildInboundTargets(
      config,
      {
        appPort: settings.appPort,
        appHost: settings.appHost,
        pools,
        nowMs: now(),
        retries: inboundRetries,
        limitsFor: (port, before) => {
          const limits = compileRateLimits(config.rateLimitPolicies, { namespace: settings.namespace, labels, port, ...(before ? { previous: before } : {}) });
          for (const issue of limits.issues) logger.warn("rate limit policy set aside", { detail: issue });
          return limits;
        },
        modeFor: (port) => mtlsModeForPort(effective, port),
        portMap: inboundPortMap,
      },
      previous,
    );
  const applyConfig = (config: ProxyConfig): void => {
    pools.setTlsResolver(tlsResolverFor(config));
    inboundSecurity = buildInboundSecurity(config, { namespace: settings.namespace, labels, rootNamespace: settings.rootNamespace, trustDomain: settings.trustDomain, mesh: meshConfig, grpcAuthorizers, logger }, inboundSecurity);
    const effective = resolveInboundMode(config);
    for (const problem of [...clientTelemetry.configure(config.telemetry?.client, telemetryDefaults), ...serverTelemetry.configure(config.telemetry?.server, telemetryDefaults)]) {
      logger.warn("telemetry setting set aside", { detail: problem });
    }
    outboundMetrics.setOverrides(config.telemetry?.client.metrics ?? {});
    inboundMetrics.setOverrides(config.telemetry?.server.metrics ?? {});
    const next = buildSnapshot(
      config,
      // A Sidecar resource's outboundTrafficPolicy replaces the proxy's own (MeshConfig's role), as in Istio.
      { pools, namespace: settings.namespace, proxyLabels: labels, gateway: "mesh", outboundTrafficPolicy: config.outboundTrafficPolicy ?? settings.outboundTrafficPolicy, proxyLocality, nowMs: now(), random },
      snapshot,
    );
    snapshot = next;
    inboundTargets = inboundTargetsOf(config, effective, inboundTargets);
    pools.retainClusters(config.clusters, inboundTargets.clusters.map((cluster) => cluster.spec));
    http2Upstreams.retainOnly(pools.all());
    logger.info("config applied", { version: config.version, clusters: config.clusters.size, services: config.services.length });
    onApplied?.();
    compactor.schedule();
  };
  const onLoad = (result: LoadConfigDirResult): void => {
    configWarnings = result.warnings;
    for (const warning of result.warnings) logger.warn("config warning", { detail: warning });
    if (!result.ok) {
      configErrors = result.errors;
      for (const error of result.errors) logger.error("config rejected; the last good config keeps serving", { detail: error });
      return;
    }
    configErrors = [];
    applyConfig(result.config);
  };

  let watcher: ConfigDirWatcher | undefined;
  if (settings.config !== undefined && settings.discoveryAddress.length > 0) {
    throw new Error("--config (standalone) and --discovery-address (managed) exclude each other: give one config source");
  }
  // Each config source and identity source is loaded only when the settings ask for it: standalone
  // mode never loads gRPC and the discovery protocol, managed mode never loads the YAML schemas,
  // and only --ca-address loads the CA client (less code kept in memory; bench/proxy/README.md).
  if (settings.config !== undefined && configDir !== undefined) {
    const { load, first } = await configDir;
    onLoad(first);
    const { watchConfigDir } = await import("./config/watch-config-dir.ts");
    watcher = watchConfigDir(settings.config, onLoad, { ...loadOptions, load });
  } else if (settings.discoveryAddress.length > 0) {
    const { proxyVersion, startManagedConfig } = await import("./managed/managed-config.ts");
    const { defaultDiscoveryIdentity, discoveryTls } = await import("./managed/discovery-tls.ts");
    const managed = startManagedConfig({
      addresses: settings.discoveryAddress,
      // With a certificate the stream is mutual TLS: ours as client certificate, the control plane's SPIFFE ID checked.
      ...(identitySource !== undefined ? { tls: discoveryTls(identitySource, settings.discoveryIdentity ?? defaultDiscoveryIdentity(settings.trustDomain)) } : {}),
      node: {
        id: settings.proxyId ?? `${settings.workloadName ?? labels["app"] ?? `proxy-${process.pid}`}.${settings.namespace}`,
        workload: settings.workloadName ?? "",
        namespace: settings.namespace,
        serviceAccount: settings.serviceAccount,
        labels,
        version: proxyVersion,
        kind: settings.proxyMode === "router" ? "gateway" : "sidecar",
      },
      domainSuffix: settings.domainSuffix,
      autoAllocateAddresses: settings.dnsAutoAllocate,
      logger,
      onConfig: (config, issues) => {
        configErrors = [];
        configWarnings = issues;
        for (const issue of issues) logger.warn("config warning", { detail: issue });
        applyConfig(config);
      },
      onRejected: (_type, error) => {
        configErrors = [error];
      },
    });
    deps.onStop("discovery", () => managed.close());
    // Traffic counts and the SVID for the control plane's console, on the same stream.
    const { startTrafficReporter } = await import("./traffic-report/traffic-reporter.ts");
    const reporter = startTrafficReporter({ registry, send: (r) => managed.report(r), identity: () => identitySource?.current(), intervalMs: settings.trafficReportSeconds * 1000, now: () => Date.now(), logger });
    deps.onStop("traffic report", () => reporter.close());
  } else {
    logger.warn("no config source: give --config DIR (standalone) or --discovery-address HOST:PORT (managed by the control plane)");
  }
  const current = (): BuiltSnapshot => snapshot ?? (snapshot = buildSnapshot(emptyConfig, { pools, namespace: settings.namespace, proxyLabels: labels, gateway: "mesh", outboundTrafficPolicy: settings.outboundTrafficPolicy, proxyLocality, nowMs: now(), random }, undefined));

  const httpListeners: HttpListener[] = [];
  const overload = new OverloadMonitor(() => httpListeners.reduce((n, l) => n + l.connectionCount, 0));
  const ports: Record<string, number> = {};
  const listeners: { name: string; address: string }[] = [];
  const hostLabel = (port: number): string => `${isIP(settings.bind) === 6 ? `[${settings.bind}]` : settings.bind}:${port}`;

  const tcpEnv = createTcpTelemetry({ metrics: outboundMetrics, policy: clientTelemetry, domainSuffix: settings.domainSuffix, now, clusters: () => current().clusters });
  const tcpListeners: TcpListener[] = [];
  for (const text of settings.tcpUpstream) {
    const parsed = parseTcpUpstreamBinding(text);
    if (!parsed.ok) throw new Error(parsed.message);
    const binding = parsed.binding;
    const listener = await startTcpListener({ port: binding.localPort, host: binding.bindAddress, env: tcpEnv, chooseCluster: bindingChooser(binding, current, random) });
    tcpListeners.push(listener);
    listeners.push({ name: `tcp-upstream ${binding.host}:${binding.port}`, address: `${binding.bindAddress}:${listener.port}` });
  }

  if (settings.outboundPort >= 0) {
    let outboundPort = settings.outboundPort;
    const listener = new HttpListener({
      limits: defaultHeadLimits,
      headersTimeoutMs: settings.headersTimeoutMs,
      idleTimeoutMs: settings.idleTimeoutMs,
      env: createRequestTelemetry({ kind: "outbound", metrics: outboundMetrics, tracing, policy: clientTelemetry, localAddress: hostLabel(outboundPort), domainSuffix: settings.domainSuffix, metadataLines, now, random }),
      http2Upstreams,
      connect: (socket, authority, leftover) => void handleConnectTunnel(socket, { authority, leftover, snapshot: current(), env: tcpEnv, random }),
      decide: (head, sourceIp): Decision =>
        admit(overload.shedder, undefined, undefined, undefined, 0, admission) ?? routeOutbound(current(), { head, listenerPort: outboundPort, sourceIp, random }),
    });
    outboundPort = await listener.listen(settings.outboundPort, settings.bind);
    ports["outbound"] = outboundPort;
    listeners.push({ name: "outbound", address: hostLabel(outboundPort) });
    httpListeners.push(listener);
  }
  // Sidecar egress listeners the sidecar binds itself (captureMode NONE or bind), opened and
  // drained as pushes add and drop them (proxy/explicit-egress-listeners.ts). Each has its own
  // decide: the existing outbound listener's path is unchanged.
  const explicitEgress = new ExplicitEgressListeners<HttpListener | TcpListener>({
    logger,
    drainMs: settings.drainSeconds * 1000,
    isDraining: () => draining,
    open: async (entry) => {
      const { bind, port } = entry.listener;
      const address = `${isIP(bind) === 6 ? `[${bind}]` : bind}:${port}`;
      if (entry.listener.protocol === "tcp") {
        return startTcpListener({ port, host: bind, env: tcpEnv, chooseCluster: egressListenerChooser(() => entry.listener, current, random) });
      }
      const listener = new HttpListener({
        limits: defaultHeadLimits,
        headersTimeoutMs: settings.headersTimeoutMs,
        idleTimeoutMs: settings.idleTimeoutMs,
        env: createRequestTelemetry({ kind: "outbound", metrics: outboundMetrics, tracing, policy: clientTelemetry, localAddress: address, domainSuffix: settings.domainSuffix, metadataLines, now, random }),
        http2Upstreams,
        // Routed through the listener's own gateway: only its imported hosts; any other host has no virtual host there (404 NR).
        decide: (head, sourceIp): Decision =>
          admit(overload.shedder, undefined, undefined, undefined, 0, admission) ?? routeOutbound(current(), { head, listenerPort: entry.listener.port, sourceIp, random }, entry.listener.gateway),
      });
      await listener.listen(port, bind);
      return listener;
    },
    opened: (entry, listener) => {
      if (listener instanceof HttpListener) httpListeners.push(listener);
      else tcpListeners.push(listener);
      const { bind, port } = entry.listener;
      listeners.push({ name: entry.listener.name, address: `${isIP(bind) === 6 ? `[${bind}]` : bind}:${port}` });
    },
    closed: (entry, listener, drained) => {
      const listed = listeners.findIndex((l) => l.name === entry.listener.name);
      if (listed >= 0) listeners.splice(listed, 1);
      void drained.then(() => {
        const list: (HttpListener | TcpListener)[] = listener instanceof HttpListener ? httpListeners : tcpListeners;
        const index = list.indexOf(listener);
        if (index >= 0) list.splice(index, 1);
      });
    },
  });
  const syncExplicitEgress = async (): Promise<void> => {
    await explicitEgress.apply(current().config.egressListeners ?? []);
    for (const key of Object.keys(ports)) if (key.startsWith("egress-")) delete ports[key];
    Object.assign(ports, explicitEgress.boundPorts);
  };
  await syncExplicitEgress();
  const appliedBeforeExplicitEgress = onApplied;
  onApplied = () => {
    appliedBeforeExplicitEgress?.();
    syncExplicitEgress().catch((error: unknown) => logger.error("Sidecar egress listeners not updated", { err: error }));
  };
  const inboundTls = new InboundTls(meshTls, () => inboundMode, logger);
  /**
   * An inbound HTTP listener. `targetOf` picks the port a connection's requests are for: the
   * listener's own port, or on the --inbound-port listener `main` or the port a mesh SNI names
   * (proxy/inbound-targets.ts); `localAddress` is the listener's, for access logs.
   */
  const inboundListener = (localAddress: () => string, targetOf: (security: DownstreamSecurity | undefined) => InboundTarget | undefined, tls: TlsAcceptor): HttpListener => {
    const inboundTelemetry = (serviceHost: string | undefined, security: DownstreamSecurity | undefined): ExchangeEnvironment =>
      createRequestTelemetry({
        kind: "inbound",
        metrics: inboundMetrics,
        tracing,
        policy: serverTelemetry,
        localAddress: localAddress(),
        domainSuffix: settings.domainSuffix,
        ...(serviceHost !== undefined ? { inboundService: serviceLabels(serviceHost, settings.domainSuffix) } : {}),
        ...(security ? { inboundPeer: peerLabelsOf(security.peerSpiffeId), securityPolicy: "mutual_tls" as const } : {}),
        metadataLines,
        now,
        random,
      });
    // One telemetry environment per (served service, peer identity): metric series are bound once
    // per (destination_service, principal, policy). The service is the current config's port's (a
    // managed sidecar gets its config after the listener opens).
    const peerTelemetry = new Map<string, ExchangeEnvironment>();
    return new HttpListener({
      tls,
      envFor: (security) => {
        const serviceHost = targetOf(security)?.port?.host;
        const key = `${serviceHost ?? ""}|${security?.peerSpiffeId ?? ""}`;
        let env = peerTelemetry.get(key);
        if (!env) {
          env = inboundTelemetry(serviceHost, security);
          peerTelemetry.set(key, env);
        }
        return env;
      },
      limits: defaultHeadLimits,
      headersTimeoutMs: settings.headersTimeoutMs,
      idleTimeoutMs: settings.idleTimeoutMs,
      env: inboundTelemetry(undefined, undefined),
      http2Upstreams,
      // The verified mTLS peer is the identity of HTTPLocalRateLimitPolicy per-identity limits.
      // Istio's inbound order: overload → JWT → authorization → rate limit → the application.
      decide: (head, sourceIp, security, _serverName, connection): Decision | Promise<Decision> => {
        const shed = admit(overload.shedder, undefined, undefined, undefined, 0, admission);
        if (shed) return shed;
        const target = targetOf(security);
        const forward = (): Decision =>
          admit(overload.shedder, target?.limits, undefined, security?.peerSpiffeId, now(), admission) ?? (target ? routeInbound(target.decision, head) : noInboundCluster);
        const guard = inboundSecurity?.security;
        // Without policies, no closure or object for the security step (the benchmarked path).
        if (guard === undefined || guard.isEmpty) return forward();
        return decideSecured(guard, head, {
          // Istio's destination.port: the workload port the request is for.
          peer: () => ({
            sourceIp,
            // Envoy on a sidecar (use_remote_address false, no trusted hops) takes remote.ip from X-Forwarded-For's last entry.
            remoteIp: forwardedClientAddress(sourceIp, headerRecord(head)["x-forwarded-for"], 1),
            principal: security?.peerPrincipal,
            destinationPort: target === undefined ? (ports["inbound"] ?? 0) : (target.port?.targetPort ?? target.appPort),
            connection,
            localSpiffeId: security ? meshTls.current?.spiffeId : undefined,
          }),
          counters: securityStats,
          route: forward,
        });
      },
    });
  };
  // Per-port HTTP listeners (bind:<targetPort>), each serving its own port's target (proxy/inbound-http-listeners.ts).
  const portTls = new Map<InboundPortListener, InboundPortTls>();
  const inboundHttp = new InboundHttpListeners({
    bind: settings.bind,
    appHost: settings.appHost,
    logger,
    drainMs: settings.drainSeconds * 1000,
    isDraining: () => draining,
    create: (entry) => {
      // A Sidecar ingress listener with `tls` terminates TLS itself; the other ports speak the mesh's mutual TLS.
      const tls = new InboundPortTls({ tls: () => entry.target.port?.tls, mesh: inboundTls.forPort(() => entry.target.mode), meshTls, credentialDir: settings.credentialDir, logger, port: entry.listenPort });
      portTls.set(entry, tls);
      return inboundListener(() => hostLabel(entry.listenPort), () => entry.target, tls);
    },
    opened: (entry, listener) => {
      httpListeners.push(listener);
      listeners.push({ name: entry.name, address: hostLabel(entry.listenPort) });
    },
    closed: (entry, listener, drained) => {
      portTls.get(entry)?.close();
      portTls.delete(entry);
      const listed = listeners.findIndex((l) => l.name === entry.name);
      if (listed >= 0) listeners.splice(listed, 1);
      void drained.then(() => {
        const index = httpListeners.indexOf(listener);
        if (index >= 0) httpListeners.splice(index, 1);
      });
    },
  });
  if (settings.inboundPort >= 0) {
    inboundTargets ??= inboundTargetsOf(current().config, resolveInboundMode(current().config), undefined);
    const listener = inboundListener(
      () => hostLabel(ports["inbound"] ?? settings.inboundPort),
      // Plain text is for `main`; a mutual-TLS connection from a client sidecar names its port in the SNI.
      (security) => (security === undefined ? inboundTargets?.main : inboundTargets && targetForServerName(inboundTargets, security.serverName)),
      inboundTls,
    );
    ports["inbound"] = await listener.listen(settings.inboundPort, settings.bind);
    listeners.push({ name: "inbound", address: hostLabel(ports["inbound"]) });
    httpListeners.push(listener);
    const syncInboundHttp = async (): Promise<void> => {
      if (inboundTargets) await inboundHttp.apply(inboundTargets, ports["inbound"] ?? -1);
      for (const key of Object.keys(ports)) if (key.startsWith("inbound-http-")) delete ports[key];
      Object.assign(ports, inboundHttp.boundPorts);
    };
    await syncInboundHttp();
    const appliedBeforeInboundHttp = onApplied;
    onApplied = () => {
      appliedBeforeInboundHttp?.();
      syncInboundHttp().catch((error: unknown) => logger.error("inbound HTTP listeners not updated", { err: error }));
    };
  }
  // Inbound ports that are raw TCP by Istio's protocol selection: a TCP listener each (src/tcp/inbound-tcp-listeners.ts).
  const inboundTcp = new InboundTcpListeners({
    credentialDir: settings.credentialDir,
    bind: settings.bind,
    appHost: settings.appHost,
    metrics: inboundMetrics,
    policy: serverTelemetry,
    domainSuffix: settings.domainSuffix,
    mesh: meshTls,
    workload: { namespace: settings.namespace, labels, rootNamespace: settings.rootNamespace },
    logger,
    now,
    // AuthorizationPolicies apply to the inbound TCP ports too (CUSTOM with a gRPC provider included).
    security: () => inboundSecurity?.security,
    portMap: inboundPortMap,
    appPort: settings.appPort,
  });
  const syncInboundTcp = async (): Promise<void> => {
    await inboundTcp.apply(current().config);
    for (const key of Object.keys(ports)) if (key.startsWith("inbound-tcp-")) delete ports[key];
    for (const [name, port] of Object.entries(inboundTcp.boundPorts)) ports[`inbound-tcp-${name}`] = port;
  };
  await syncInboundTcp();
  for (const l of inboundTcp.listeners) listeners.push({ name: l.name, address: l.address });
  const appliedBeforeInboundTcp = onApplied;
  onApplied = () => {
    appliedBeforeInboundTcp?.();
    void syncInboundTcp();
  };
  deps.onStop("inbound-tcp", () => inboundTcp.drain(settings.drainSeconds * 1000));

  // Router mode (the ingress gateway): a listener per port of the Gateways selecting this proxy —
  // HTTP, HTTP over TLS it terminates, or TCP for passthrough and TCP servers and for TLS servers
  // that terminate (the decrypted bytes); a config that adds or removes a port opens or drains its
  // listener (one whose mode changes is drained and opened anew). The gateway's own
  // RequestAuthentications and AuthorizationPolicies (those selecting its labels, as on a sidecar:
  // inboundSecurity) apply to every request, and in their TCP form to every TCP connection.
  interface GatewayPort {
    spec: GatewayListener;
    readonly listener: HttpListener | TcpListener;
    readonly tls: GatewayTls | undefined;
  }
  const gatewayPorts = new Map<number, GatewayPort>();
  const proxyProtocolStats = newProxyProtocolStats();
  const proxyProtocolOptions = (port: number): ProxyProtocolOptions => ({ timeoutMs: settings.headersTimeoutMs, stats: proxyProtocolStats, logger, where: `gateway port ${port}` });
  const closeGatewayPort = (port: number, entry: GatewayPort): Promise<void> => {
    gatewayPorts.delete(port);
    const list: (HttpListener | TcpListener)[] = entry.listener instanceof HttpListener ? httpListeners : tcpListeners;
    list.splice(list.indexOf(entry.listener), 1);
    listeners.splice(listeners.findIndex((l) => l.name === `gateway ${port}`), 1);
    delete ports[`gateway-${port}`];
    entry.tls?.close();
    logger.info("gateway listener closed", { port });
    return entry.listener.drain(settings.drainSeconds * 1000);
  };
  const openGatewayPort = async (spec: GatewayListener): Promise<GatewayPort> => {
    const proxyOptions = proxyProtocolOptions(spec.port);
    const tls = spec.mode === "https" || spec.mode === "terminated-tcp" ? new GatewayTls(spec.servers, { credentialDir: settings.credentialDir, mesh: meshTls, logger, port: spec.port }) : undefined;
    if (spec.mode === "passthrough" || spec.mode === "tcp" || spec.mode === "terminated-tcp") {
      // chooseCluster reads entry.spec: a new config's spec reaches it (connections come after the entry exists).
      // A terminating port proxies the decrypted socket; the handshake's SNI picks the server (as it picked the certificate).
      const listener = await startTcpListener({
        port: spec.port,
        host: settings.bind,
        env: tcpEnv,
        inspectSni: spec.mode === "passthrough" ? { timeoutMs: settings.headersTimeoutMs } : undefined,
        // The PROXY header comes before everything, TLS included; a terminating port gives its client to the TLS socket once the handshake is done.
        preface: proxyProtocol
          ? (socket, proceed) =>
              readProxyProtocol(socket, proxyOptions, (raw) => {
                if (!tls) restoreRemoteAddress(raw);
                proceed(raw);
              })
          : undefined,
        handshake: tls
          ? (socket, proceed) =>
              tls.accept(socket, (client, security, serverName) => {
                if (proxyProtocol) restoreRemoteAddress(client, socket);
                proceed(client, serverName ?? "", security);
              })
          : undefined,
        chooseCluster: (_socket, { sni }) => chooseGatewayTcpCluster(current(), current().config.gatewayTcpRoutes, entry.spec, sni, random),
        authorize: (socket, { sni, security }) => {
          const guard = inboundSecurity?.security;
          if (guard === undefined || !guard.authorizes) return undefined;
          const localSpiffeId = security ? meshTls.current?.spiffeId : undefined;
          return guard.checkConnection({
            socket,
            principal: security?.peerPrincipal,
            peerSpiffeId: security?.peerSpiffeId,
            localSpiffeId,
            destinationPort: spec.port,
            sni: sni === "" ? undefined : sni,
            directIp: proxyProtocol ? directRemoteAddress(socket) : undefined,
          });
        },
      }).catch((error: unknown) => {
        tls?.close();
        throw error;
      });
      const entry: GatewayPort = { spec, tls, listener };
      tcpListeners.push(listener);
      return entry;
    }
    const listener = new HttpListener({
      limits: defaultHeadLimits,
      headersTimeoutMs: settings.headersTimeoutMs,
      idleTimeoutMs: settings.idleTimeoutMs,
      env: createRequestTelemetry({ kind: "outbound", metrics: outboundMetrics, tracing, policy: clientTelemetry, localAddress: hostLabel(spec.port), domainSuffix: settings.domainSuffix, metadataLines, now, random }),
      http2Upstreams,
      tls: proxyProtocol ? proxyProtocolAcceptor(tls, proxyOptions) : tls,
      // Envoy's gateway filter chain: overload → JWT → authorization → routing, then the
      // connection manager's forwarding headers (use_remote_address) on what goes upstream.
      // `downstreamIp` is the served socket's remote address: with the PROXY protocol the client
      // the header named, while source.ip stays the physical peer (the load balancer).
      decide: (head, downstreamIp, security, serverName, connection): Decision | Promise<Decision> => {
        const sourceIp = proxyProtocol ? (directRemoteAddress(connection?.socket) ?? downstreamIp) : downstreamIp;
        const decided =
          admit(overload.shedder, undefined, undefined, undefined, 0, admission) ??
          decideSecured(inboundSecurity?.security, head, {
            peer: () => gatewayRequestPeer(head, { sourceIp, downstreamIp, security, serverName, connection, port: spec.port, numTrustedProxies, localSpiffeId: meshTls.current?.spiffeId }),
            counters: securityStats,
            route: () => routeGateway(current(), entry.spec, { head, listenerPort: spec.port, sourceIp: downstreamIp, random }, serverName),
          });
        const forwarded = (decision: Decision): Decision => {
          if (decision.type !== "forward") return decision;
          const headers = headerRecord(head);
          const ops = gatewayForwardedHeaders(headers["x-forwarded-for"], headers["x-forwarded-proto"], { remoteIp: downstreamIp, localIp: connection?.socket.localAddress, isTls: serverName !== undefined, numTrustedProxies });
          return { ...decision, requestHeaders: [ops, ...decision.requestHeaders] };
        };
        return decided instanceof Promise ? decided.then(forwarded) : forwarded(decided);
      },
    });
    const entry: GatewayPort = { spec, tls, listener };
    try {
      await listener.listen(spec.port, settings.bind);
    } catch (error) {
      tls?.close();
      throw error;
    }
    httpListeners.push(listener);
    return entry;
  };
  const syncGatewayListeners = async (): Promise<void> => {
    const { listeners: wanted, issues } = gatewayListeners(current().config.gateways ?? [], labels);
    for (const issue of issues) logger.warn("gateway server set aside", { detail: issue });
    for (const spec of wanted) {
      const existing = gatewayPorts.get(spec.port);
      if (existing && existing.spec.mode === spec.mode) {
        existing.spec = spec;
        existing.tls?.update(spec.servers);
        continue;
      }
      if (existing) void closeGatewayPort(spec.port, existing);
      try {
        gatewayPorts.set(spec.port, await openGatewayPort(spec));
      } catch (error) {
        gatewayPorts.delete(spec.port);
        logger.error("cannot listen on a Gateway port; its servers are not served", { port: spec.port, err: error });
        continue;
      }
      listeners.push({ name: `gateway ${spec.port}`, address: hostLabel(spec.port) });
      ports[`gateway-${spec.port}`] = spec.port;
      logger.info("gateway listener open", { port: spec.port, protocol: spec.protocol, mode: spec.mode, servers: spec.servers.map((server) => `${server.gateway}[${server.server}]`) });
    }
    for (const [port, entry] of gatewayPorts) {
      if (!wanted.some((w) => w.port === port)) void closeGatewayPort(port, entry);
    }
  };
  if (settings.proxyMode === "router") {
    // One sync at a time: a port being opened must not be opened again by the next config's sync.
    let gatewaySync = syncGatewayListeners();
    await gatewaySync;
    const appliedBeforeGateway = onApplied;
    onApplied = () => {
      appliedBeforeGateway?.();
      gatewaySync = gatewaySync.then(syncGatewayListeners).catch((error: unknown) => logger.error("gateway listeners not updated", { err: error }));
    };
  }

  // DNS proxying (Istio's smart DNS proxy, src/dns): only with --dns-port or --dns-capture. The
  // module is imported and the name table built only then (idle memory); it answers from the
  // config applied last.
  const dnsPort = dnsProxyPort(settings);
  let dns: DnsProxy | undefined;
  if (dnsPort >= 0) {
    const { startDnsProxy } = await import("./dns/start-dns-proxy.ts");
    const proxy = await startDnsProxy({
      hosts: settings.dnsBind,
      port: dnsPort,
      upstreams: settings.dnsUpstream,
      resolvConf: settings.dnsResolvConf,
      nameTable: { namespace: settings.namespace, domainSuffix: settings.domainSuffix, autoAllocatedIpv6: isIP(settings.bind) === 6 },
      logger,
    });
    dns = proxy;
    if (snapshot !== undefined) proxy.setConfig(snapshot.config);
    const appliedBeforeDns = onApplied;
    onApplied = () => {
      appliedBeforeDns?.();
      proxy.setConfig(current().config);
    };
    ports["dns"] = proxy.port;
    // One port on every --dns-bind address: "dns", or "dns <address>" each when there are several.
    for (const address of proxy.addresses) listeners.push({ name: proxy.addresses.length === 1 ? "dns" : `dns ${address}`, address });
    deps.onStop("dns proxy", () => proxy.close());
  }

  // Outlier detection un-ejects on time even without traffic.
  const outlierTimer = setInterval(() => {
    const t = now();
    for (const cluster of current().clusters.built()) cluster.tick(t);
  }, 1000);
  outlierTimer.unref();

  const drain = async (): Promise<void> => {
    if (draining) return;
    draining = true;
    logger.info("draining", { seconds: settings.drainSeconds });
    // Every listener stops accepting; open connections (HTTP and raw TCP) finish within the drain time.
    await Promise.all([...[...httpListeners, ...tcpListeners].map((l) => l.drain(settings.drainSeconds * 1000)), inboundTcp.drain(settings.drainSeconds * 1000)]);
  };

  const state: SidecarState = {
    get ready() {
      return snapshot !== undefined && snapshot.config.version !== "" && !draining;
    },
    get draining() {
      return draining;
    },
    get config() {
      return snapshot?.config;
    },
    get configErrors() {
      return configErrors;
    },
    get configWarnings() {
      return configWarnings;
    },
    get clusters() {
      const all = new Map<string, ClusterRuntime>();
      for (const cluster of current().clusters.built()) all.set(cluster.name, cluster);
      for (const cluster of inboundTargets?.clusters ?? []) all.set(cluster.name, cluster);
      for (const cluster of inboundTcp.clusters) all.set(cluster.name, cluster);
      return all;
    },
    extraClusters: () => [...(inboundTargets?.clusters ?? []).map((c) => c.spec), ...inboundTcp.clusters.map((c) => c.spec)],
    registry,
    beforeScrape: () => syncClusterStats(state.clusters.values()),
    stats: () => {
      const out: [string, number][] = [];
      for (const cluster of state.clusters.values()) {
        for (const [name, value] of Object.entries(cluster.stats)) out.push([`cluster.${cluster.name}.${name}`, value]);
      }
      out.push(["listener.downstream_cx_active", httpListeners.reduce((n, l) => n + l.connectionCount, 0)]);
      // Network RBAC / ext_authz counters (Istio's stat prefix `tcp.`) count the gateway's TCP ports too.
      const gatewayTcpAuthz = new Map<string, number>([["tcp.rbac.allowed", 0], ["tcp.rbac.denied", 0], ["ext_authz.tcp.denied", 0], ["ext_authz.tcp.error", 0]]);
      for (const { authzStats } of tcpListeners) {
        for (const [name, value] of [["tcp.rbac.allowed", authzStats.allowed], ["tcp.rbac.denied", authzStats.denied], ["ext_authz.tcp.denied", authzStats.externalDenied], ["ext_authz.tcp.error", authzStats.externalError]] as const) gatewayTcpAuthz.set(name, (gatewayTcpAuthz.get(name) ?? 0) + value);
      }
      out.push(...inboundTcp.stats().map(([name, value]): [string, number] => [name, value + (gatewayTcpAuthz.get(name) ?? 0)]));
      out.push(["mirror.sent", mirrorStats.sent], ["mirror.failed", mirrorStats.failed]);
      out.push(
        ["listener.inbound.ssl.handshake", inboundTls.stats.handshakes],
        ["listener.inbound.ssl.refused", inboundTls.stats.refused],
        ["listener.inbound.plaintext", inboundTls.stats.plaintext],
        ["tls.identity_updates", meshTls.rotations],
        ["tls.inbound_mode_strict", inboundMode === "STRICT" ? 1 : 0],
      );
      for (const [port, { tls }] of gatewayPorts) {
        if (tls) out.push([`listener.gateway-${port}.ssl.handshake`, tls.stats.handshakes], [`listener.gateway-${port}.ssl.refused`, tls.stats.refused]);
      }
      if (proxyProtocol) out.push(...proxyProtocolStatLines(proxyProtocolStats));
      out.push(["overload.shed", admission.shed], ["overload.active", overload.shedder.isShedding ? 1 : 0], ["local_rate_limit.rate_limited", admission.rateLimited]);
      out.push(["server.heap_compactions", compactor.collections]);
      if (dns !== undefined) out.push(...dns.stats());
      const logs = [accessLog, stdoutAccessLog].filter((w) => w !== undefined);
      if (logs.length > 0) out.push(["access_log.written", logs.reduce((n, w) => n + w.stats.written, 0)], ["access_log.dropped", logs.reduce((n, w) => n + w.stats.dropped, 0)]);
      return out;
    },
    drain: () => void drain(),
    ...(dns !== undefined ? { dnsTable: dns.dump } : {}),
    setLogLevel: deps.setLogLevel,
    startedAt: new Date(),
    listeners,
  };

  const servers: Server[] = [];
  const listen = async (name: string, server: Server, port: number): Promise<void> => {
    if (port < 0) return;
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen(port, settings.bind, () => resolve());
    });
    const address = server.address();
    ports[name] = typeof address === "object" && address ? address.port : port;
    listeners.push({ name, address: hostLabel(ports[name] as number) });
    servers.push(server);
  };
  await listen("admin", createAdminServer(state), settings.adminPort);
  await listen("stats", createStatsServer(state, appHealth), settings.statsPort);

  deps.onStop("sidecar", async () => {
    await drain();
    clearInterval(outlierTimer);
    compactor.close();
    overload.close();
    await watcher?.close();
    pools.closeAll();
    http2Upstreams.closeAll();
    meshTls.close();
    await tracing.shutdown();
    await Promise.all(servers.map((s) => new Promise<void>((resolve) => s.close(() => resolve()))));
  });
  if (settings.registryAgent !== undefined) {
    // Loaded only with --registry-agent. Registered last, so it runs first on stop: the workload leaves the catalog before the drain.
    const { startAgentRegistration } = await import("./registry-agent/agent-registration.ts");
    const { workloadRegistration } = await import("./registry-agent/workload-registration.ts");
    const service = workloadRegistration({ ...settings, labels, inboundPort: ports["inbound"], statsPort: ports["stats"] });
    const registration = startAgentRegistration({ agentUrl: settings.registryAgent, service, isReady: () => state.ready, logger });
    deps.onStop("registry agent registration", () => registration.stop());
  }
  logger.info("sidecar started", { ports, config: settings.config ?? null, version: snapshot?.config.version ?? null });
  return { state, ports, applyConfig, drain };
}

/**
 * The loader of a --config directory and its first result. A build reads and validates the files
 * in a short-lived child process, so this process never loads the schemas and YAML parsers
 * (config/load-config-in-worker.ts); from the TypeScript sources (tsx, tests) it reads in-process.
 */
async function openConfigDir(dir: string, options: LoadConfigDirOptions): Promise<{ load: ConfigDirLoader; first: LoadConfigDirResult }> {
  const { builtConfigWorker, workerConfigLoader } = await import("./config/load-config-in-worker.ts");
  const worker = builtConfigWorker();
  const load = worker ? workerConfigLoader(worker) : (await import("./config/load-config-dir.ts")).loadConfigDir;
  return { load, first: await load(dir, options) };
}

/** The identity source the settings ask for: --cert-dir, else the CA (--ca-address), else none (no mutual TLS). */
async function startIdentitySource(settings: SidecarSettings, logger: Logger): Promise<IdentitySource | undefined> {
  if (settings.certDir === undefined && settings.caAddress === undefined) return undefined;
  // The certificate checks come with an identity (tls/pki-checks.ts): without one, none are loaded.
  await loadPkiChecks();
  if (settings.certDir !== undefined) {
    const { watchCertDir } = await import("./tls/cert-dir-identity.ts");
    return watchCertDir(settings.certDir, { trustDomain: settings.trustDomain, logger });
  }
  if (settings.caAddress === undefined) return undefined;
  if (settings.caRootCert === undefined || settings.workloadTokenFile === undefined) {
    throw new Error("--ca-address needs --ca-root-cert FILE (the mesh root) and --workload-token-file FILE (meshctl token issue)");
  }
  const { startCaIdentity } = await import("./tls/ca-identity.ts");
  return startCaIdentity({
    address: settings.caAddress,
    rootCertFile: settings.caRootCert,
    caSpiffeId: settings.caSpiffeId,
    tokenFile: settings.workloadTokenFile,
    trustDomain: settings.trustDomain,
    namespace: settings.namespace,
    serviceAccount: settings.serviceAccount,
    validitySeconds: settings.svidTtlSeconds,
    logger,
  });
}

/** Source labels of a verified peer: its principal and, for `spiffe://td/ns/<ns>/sa/<sa>`, its namespace. */
function peerLabelsOf(spiffeId: string): PeerLabels {
  const labels: PeerLabels = { principal: spiffeId };
  const match = /^spiffe:\/\/[^/]+\/ns\/([^/]+)\/sa\/[^/]+$/.exec(spiffeId);
  if (match?.[1] !== undefined) labels.namespace = match[1];
  return labels;
}

/** The inbound listener's answer when it has no port to serve. */
const noInboundCluster: Decision = { type: "reply", status: 503, flag: "NC", body: "", headers: [], routeName: "", details: "no_inbound_cluster: give --app-port or an inbound port in the config" };

/** `us-east1/us-east1-b/rack7` → locality; undefined when unset. */
export function parseLocality(text: string | undefined): Locality | undefined {
  if (text === undefined || text === "") return undefined;
  const [region = "", zone = "", subZone = ""] = text.split("/");
  return { region, zone, subZone };
}

/** `["app=reviews", "version=v1"]` → record; a malformed entry is an error naming the flag. */
export function parseLabels(entries: readonly string[]): Record<string, string> {
  const labels: Record<string, string> = {};
  for (const entry of entries) {
    const eq = entry.indexOf("=");
    if (eq <= 0) throw new Error(`--labels: "${entry}" is not KEY=VALUE (example: --labels app=reviews,version=v1)`);
    labels[entry.slice(0, eq)] = entry.slice(eq + 1);
  }
  return labels;
}

/** The first inbound port that is not raw TCP (those have listeners of their own): `main` without --app-port. */
function httpInbound(config: ProxyConfig): InboundPort | undefined {
  return config.inbound.find((port) => !isInboundTcpPort(port));
}
