// Wires the control plane: config sources (registry KV watch, directory) and the catalog watch into
// the ConfigStore, the store into the DiscoveryServer (gRPC), and the admin API. main.ts calls it
// with the parsed settings; tests call it in-process.
import { Server } from "@grpc/grpc-js";
import type { RegistryServiceInstance } from "@meshwork/protocol";
import type { CatalogInstance, MeshH2UpgradePolicy, ProxyNode } from "@meshwork/proxy-core";
import type { Logger } from "@meshwork/telemetry";
import { formatIssue } from "@meshwork/config";
import { readConfigDirectory, watchConfigDirectory } from "./adapters/config-directory.ts";
import { createRegistryKv } from "./adapters/registry-kv.ts";
import { watchRegistry } from "./adapters/registry-watch.ts";
import { adminRoutes } from "./admin/admin-routes.ts";
import { startAdminServer } from "./admin/admin-router.ts";
import { ControlPlaneMetrics } from "./admin/control-plane-metrics.ts";
import { ConfigStore } from "./config-store/config-store.ts";
import { consoleConfigError, consoleOptionsFor, type ConsoleConfig } from "./console/console-settings.ts";
import { registerConsoleRoutes } from "./console/console-routes.ts";
import { ProxyReports } from "./console/proxy-reports.ts";
import type { ConfigSourceName } from "./core/admit-config.ts";
import { configPrefix } from "./core/config-key.ts";
import { proxyIdentityError, spiffeIdOfCertificate } from "./identity/proxy-identity.ts";
import { DiscoverySecurityError, startDiscoverySecurity, type DiscoverySecurity } from "./identity/start-discovery-security.ts";
import { defaultInjectionTemplate } from "./injector/injection-template.ts";
import { startInjectorServer } from "./injector/start-injector-server.ts";
import { startKubernetesSources } from "./kubernetes/kubernetes-sources.ts";
import { gatewayStatusInputReader } from "./kubernetes/read-gateway-status-input.ts";
import { startCaRootPublisher } from "./kubernetes/start-ca-root-publisher.ts";
import { startGatewayStatusWriter } from "./kubernetes/start-gateway-status-writer.ts";
import { DiscoveryServer } from "./push/discovery-server.ts";
import { discoveryService } from "./push/encode-discovery-response.ts";
import { storeCompiler } from "./push/store-compiler.ts";

export interface ControlPlaneConfig extends ConsoleConfig {
  readonly id: string;
  readonly bind: string;
  readonly grpcPort: number;
  readonly adminPort: number;
  readonly registryGrpc: readonly string[];
  readonly registryHttp: readonly string[];
  readonly configDir: string | undefined;
  readonly defaultNamespace: string;
  readonly domainSuffix: string;
  readonly rootNamespace: string;
  readonly trustDomain: string;
  /** MeshConfig `h2UpgradePolicy` (DO_NOT_UPGRADE when unset). */
  readonly h2UpgradePolicy?: MeshH2UpgradePolicy | undefined;
  readonly trustBundle: string | undefined;
  readonly debounceMs: number;
  readonly debounceMaxMs: number;
  readonly keepaliveMs: number;
  readonly maxConnectionAgeMs: number;
  /** Read CRDs, Services and EndpointSlices from the Kubernetes API. */
  readonly kubernetes?: boolean | undefined;
  /** Serve the sidecar-injector webhook on this port (with the TLS files below). */
  readonly injectorPort?: number | undefined;
  readonly injectorTlsCert?: string | undefined;
  readonly injectorTlsKey?: string | undefined;
  readonly injectorSidecarImage?: string | undefined;
  /** `KEY=VALUE` entries of the injected sidecars' proxyMetadata (InjectionTemplate.proxyMetadata). */
  readonly injectorProxyMetadata?: readonly string[] | undefined;
  /** Serve StreamConfig over mutual TLS with these files (PEM), or with an SVID from the CA (below). */
  readonly tlsCert?: string | undefined;
  readonly tlsKey?: string | undefined;
  /** The mesh CA: its trust bundle is followed; with `workloadTokenFile`, it issues the serving SVID. */
  readonly caAddress?: string | undefined;
  readonly caRootCert?: string | undefined;
  readonly caSpiffeId?: string | undefined;
  readonly workloadTokenFile?: string | undefined;
  /** The control plane's service account (default control-plane; its namespace is `rootNamespace`). */
  readonly serviceAccount?: string | undefined;
  readonly svidTtlSeconds?: number | undefined;
}

export interface ControlPlaneDeps {
  readonly logger: Logger;
  readonly onStop: (name: string, hook: () => Promise<void> | void) => void;
  readonly processMetrics?: boolean;
}

export interface RunningControlPlane {
  readonly grpcPort: number;
  readonly adminPort: number;
  readonly store: ConfigStore;
  readonly discovery: DiscoveryServer;
}

export class ControlPlaneSettingsError extends Error {}

export async function startControlPlane(config: ControlPlaneConfig, deps: ControlPlaneDeps): Promise<RunningControlPlane> {
  const { logger } = deps;
  if (config.registryGrpc.length === 0 && config.configDir === undefined && config.kubernetes !== true) {
    throw new ControlPlaneSettingsError("no config source: pass --registry-grpc HOST:PORT (registry KV and catalog), --kubernetes and/or --config-dir DIR");
  }
  if (config.injectorPort !== undefined && (config.injectorTlsCert === undefined || config.injectorTlsKey === undefined)) {
    throw new ControlPlaneSettingsError("--injector-port needs --injector-tls-cert FILE and --injector-tls-key FILE (the API server calls the webhook over HTTPS)");
  }
  parseProxyMetadataSetting(config.injectorProxyMetadata ?? []);
  const consoleError = consoleConfigError(config);
  if (consoleError !== undefined) throw new ControlPlaneSettingsError(consoleError);
  // The trust bundle (file or CA, followed) and the discovery stream's TLS (files or the CA's SVID).
  let security: DiscoverySecurity;
  try {
    security = await startDiscoverySecurity(
      {
        trustDomain: config.trustDomain,
        rootNamespace: config.rootNamespace,
        trustBundle: config.trustBundle,
        tlsCert: config.tlsCert,
        tlsKey: config.tlsKey,
        caAddress: config.caAddress,
        caRootCert: config.caRootCert,
        caSpiffeId: config.caSpiffeId,
        workloadTokenFile: config.workloadTokenFile,
        serviceAccount: config.serviceAccount ?? "control-plane",
        svidTtlSeconds: config.svidTtlSeconds ?? 3600,
      },
      logger.child({ component: "security" }),
    );
  } catch (error) {
    if (error instanceof DiscoverySecurityError) throw new ControlPlaneSettingsError(error.message);
    throw error;
  }
  deps.onStop("trust bundle and certificates", () => security.close());
  const sources: ConfigSourceName[] = [];
  if (config.registryGrpc.length > 0) sources.push("registry");
  if (config.kubernetes === true) sources.push("kubernetes");
  if (config.configDir !== undefined) sources.push("directory");
  const metrics = new ControlPlaneMetrics({ processMetrics: deps.processMetrics ?? true });
  const store = new ConfigStore({
    mesh: { domainSuffix: config.domainSuffix, rootNamespace: config.rootNamespace, trustDomain: config.trustDomain, h2UpgradePolicy: config.h2UpgradePolicy },
    defaultNamespace: config.defaultNamespace,
    sources,
    needsCatalog: config.registryGrpc.length > 0 || config.kubernetes === true,
    trustBundles: security.bundles(),
  });
  security.onBundles((bundles) => store.setTrustBundles(bundles));
  const timers = { now: () => Date.now(), setTimeout: (cb: () => void, ms: number) => setTimeout(cb, ms), clearTimeout: (h: unknown) => clearTimeout(h as NodeJS.Timeout) };
  // Proxies' traffic and SVID reports on the discovery stream: the console's default traffic source.
  const reports = new ProxyReports({ now: () => Date.now() });
  const discovery = new DiscoveryServer({
    onReport: (node, report) => reports.add(node, report),
    controlPlaneId: config.id,
    compute: storeCompiler(store),
    revision: () => store.snapshot.revision,
    isReady: () => store.isReady,
    timers,
    debounce: { quietMs: config.debounceMs, maxMs: config.debounceMaxMs },
    logger: logger.child({ component: "push" }),
    metrics,
    // Over mutual TLS a stream gets only the config of the workload its client certificate names.
    ...(security.tls ? { authorize: (stream: AuthenticatedStream, node: ProxyNode) => authorizeStream(stream, node, config.trustDomain) } : {}),
  });
  // Rejections still standing: each is logged and counted once, not on every later change.
  let reported = new Set<string>();
  store.onChange((change) => {
    if (change.type === "config") {
      const standing = new Set<string>();
      for (const r of change.rejected) {
        const id = `${r.source}:${r.key}:${r.issues.map((i) => i.message).join("|")}`;
        standing.add(id);
        if (reported.has(id)) continue;
        metrics.configRejections.inc({ source: r.source });
        logger.warn("config rejected; the last good version keeps serving", { source: r.source, key: r.key, keptLastGood: r.keptLastGood, errors: r.issues.map(formatIssue) });
      }
      reported = standing;
      logger.info("config changed", { revision: change.revision, resources: store.snapshot.resources.length });
    }
    discovery.changed();
  });

  let serving = true;
  const grpc = new Server({
    "grpc.keepalive_time_ms": config.keepaliveMs,
    "grpc.keepalive_timeout_ms": 10_000,
    "grpc.http2.min_ping_interval_without_data_ms": 5_000,
    ...(config.maxConnectionAgeMs > 0 ? { "grpc.max_connection_age_ms": config.maxConnectionAgeMs, "grpc.max_connection_age_grace_ms": 10_000 } : {}),
  });
  grpc.addService(discoveryService, discovery.service);
  const grpcPort = await new Promise<number>((resolve, reject) =>
    grpc.bindAsync(`${config.bind}:${config.grpcPort}`, security.credentials, (error, port) => (error ? reject(error) : resolve(port))),
  );
  deps.onStop("discovery grpc", () => new Promise<void>((resolve) => grpc.tryShutdown(() => resolve())));

  // The catalog is the registry's services plus Kubernetes' (each source replaces its own part).
  const catalogParts = new Map<string, readonly CatalogInstance[]>();
  const catalogs = {
    set(source: "registry" | "kubernetes", instances: readonly CatalogInstance[]): void {
      catalogParts.set(source, instances);
      store.setCatalog([...catalogParts.values()].flat());
    },
  };
  if (config.registryGrpc.length > 0) {
    const kvWatch = watchRegistry({
      addresses: config.registryGrpc,
      kind: "kv",
      prefix: configPrefix,
      onState: (response) => store.setEntries("registry", response.kvEntries.map((e) => ({ key: e.key, text: e.value.toString("utf8") }))),
      onError: (error, address) => logger.warn("registry config watch failed; trying the next server", { address, err: error }),
    });
    const catalogWatch = watchRegistry({
      addresses: config.registryGrpc,
      kind: "catalog",
      prefix: "",
      onState: (response) => catalogs.set("registry", response.serviceInstances.map(toCatalogInstance)),
      onError: (error, address) => logger.warn("registry catalog watch failed; trying the next server", { address, err: error }),
    });
    deps.onStop("registry watches", () => {
      kvWatch.close();
      catalogWatch.close();
    });
  }
  if (config.configDir !== undefined) {
    const dir = config.configDir;
    const entries = await readConfigDirectory(dir).catch((error: unknown) => {
      throw new ControlPlaneSettingsError(`--config-dir ${dir}: ${error instanceof Error ? error.message : String(error)}`);
    });
    store.setEntries("directory", entries);
    const watcher = watchConfigDirectory(dir, (next) => store.setEntries("directory", next), (error) => logger.warn("reading the config directory failed; the last good config keeps serving", { dir, err: error }));
    deps.onStop("config directory watch", () => watcher.close());
  }

  if (config.kubernetes === true) {
    const { KubeConfig } = await import("@kubernetes/client-node");
    const kubeConfig = new KubeConfig();
    kubeConfig.loadFromDefault();
    const kubernetes = startKubernetesSources({
      kubeConfig,
      onConfig: (entries) => store.setEntries("kubernetes", entries),
      onCatalog: (instances) => catalogs.set("kubernetes", instances),
      logger: logger.child({ component: "kubernetes" }),
    });
    deps.onStop("kubernetes watches", () => kubernetes.stop());
    // Gateway API status (istiod's status writer): after each change, only the statuses that differ.
    // There is no leader election: every replica writes, and as they plan the same status from the
    // same objects, the one that loses a race re-reads, finds it written, and writes nothing.
    const statusWriter = startGatewayStatusWriter({
      kubeConfig,
      read: gatewayStatusInputReader(kubernetes, store, { defaultNamespace: config.defaultNamespace, domainSuffix: config.domainSuffix }),
      logger: logger.child({ component: "gateway-status" }),
    });
    store.onChange(() => {
      if (store.isReady) statusWriter.update();
    });
    deps.onStop("gateway status writer", () => statusWriter.stop());
    // The mesh root in every namespace (Istio's istio-ca-root-cert), for workloads that verify the mesh.
    const root = security.bundles()[0]?.rootsPem.join("");
    if (root !== undefined) {
      const publisher = startCaRootPublisher({ kubeConfig, rootCertPem: root, logger: logger.child({ component: "ca-root-publisher" }) });
      // A root rotation at the CA (or a changed --trust-bundle file) reaches every namespace too.
      security.onBundles((bundles) => {
        const next = bundles[0]?.rootsPem.join("");
        if (next !== undefined) publisher.setRoot(next);
      });
      deps.onStop("ca root publisher", () => publisher.stop());
    }
  }
  if (config.injectorPort !== undefined && config.injectorTlsCert !== undefined && config.injectorTlsKey !== undefined) {
    const injector = await startInjectorServer({
      host: config.bind,
      port: config.injectorPort,
      tlsCertFile: config.injectorTlsCert,
      tlsKeyFile: config.injectorTlsKey,
      template: {
        ...defaultInjectionTemplate,
        trustDomain: config.trustDomain,
        ...(config.injectorSidecarImage !== undefined ? { image: config.injectorSidecarImage } : {}),
        proxyMetadata: parseProxyMetadataSetting(config.injectorProxyMetadata ?? []),
      },
      logger: logger.child({ component: "injector" }),
    });
    deps.onStop("injector", () => injector.close());
  }

  const kv = config.registryHttp.length > 0 ? createRegistryKv(config.registryHttp) : undefined;
  const router = adminRoutes({ store, discovery, metrics, kv, isServing: () => serving, defaultNamespace: config.defaultNamespace, controlPlaneId: config.id });
  registerConsoleRoutes(router, consoleOptionsFor(config, { store, discovery, reports }));
  const admin = await startAdminServer(router, { host: config.bind, port: config.adminPort });
  deps.onStop("admin listener", () => admin.close());
  // Registered last so it runs first: stop advertising readiness, then end the proxy streams
  // (they reconnect to another replica and keep their config meanwhile).
  deps.onStop("end proxy streams", () => discovery.close());
  deps.onStop("readiness", () => {
    serving = false;
  });
  logger.info("listening", { id: config.id, grpcPort, adminPort: admin.port, sources, registryGrpc: config.registryGrpc, configDir: config.configDir, tls: security.tls, spiffeId: security.spiffeId ?? null });
  return { grpcPort, adminPort: admin.port, store, discovery };
}

/** The refusal of a stream whose client certificate does not name `node`'s workload; undefined to serve it. */
type AuthenticatedStream = { getAuthContext(): { sslPeerCertificate?: { raw?: Uint8Array } } };

function authorizeStream(stream: AuthenticatedStream, node: ProxyNode, trustDomain: string): string | undefined {
  const peer = spiffeIdOfCertificate(stream.getAuthContext().sslPeerCertificate?.raw);
  return peer.ok ? proxyIdentityError(node, peer.id, trustDomain) : peer.error;
}

function toCatalogInstance(i: RegistryServiceInstance): CatalogInstance {
  return { node: i.node, nodeAddress: i.nodeAddress, serviceId: i.serviceId, serviceName: i.serviceName, address: i.address, port: i.port, tags: [...i.tags], meta: { ...i.meta }, health: i.health };
}

/** `--injector-proxy-metadata KEY=VALUE` entries as a record; a malformed entry is a settings error naming it. */
function parseProxyMetadataSetting(entries: readonly string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const entry of entries) {
    const eq = entry.indexOf("=");
    if (eq <= 0) throw new ControlPlaneSettingsError(`--injector-proxy-metadata "${entry}" is not KEY=VALUE (example: --injector-proxy-metadata ISTIO_META_DNS_CAPTURE=true)`);
    out[entry.slice(0, eq)] = entry.slice(eq + 1);
  }
  return out;
}
