// What the injector adds to a pod: the sidecar's image, identity, ports and resources. One
// value, built once from the control plane's settings and handed to planInjection.

export interface InjectionTemplate {
  /** Sidecar image; it also runs the init container, so it must contain iptables-restore. */
  readonly image: string;
  /** UID/GID the sidecar runs as; exempt from outbound capture (Istio: 1337). */
  readonly proxyUid: number;
  readonly inboundPort: number;
  readonly outboundPort: number;
  readonly adminPort: number;
  readonly statsPort: number;
  /** Control plane the sidecar gets its config from (HOST:PORT). */
  readonly discoveryAddress: string;
  /** Mesh CA (HOST:PORT) and its trust domain. */
  readonly caAddress: string;
  readonly trustDomain: string;
  /** ConfigMap in the pod's namespace with the mesh root as root-cert.pem. */
  readonly caRootConfigMap: string;
  /** Audience of the projected service-account token the sidecar shows the CA. */
  readonly tokenAudience: string;
  readonly logLevel: "debug" | "info" | "warn" | "error";
  readonly sidecarResources: ContainerResources;
  readonly initResources: ContainerResources;
  /**
   * Istio's meshConfig.defaultConfig.proxyMetadata: environment variables every injected sidecar
   * gets (a pod's proxy.istio.io/config overrides them key by key). `ISTIO_META_DNS_CAPTURE: "true"`
   * turns DNS capture on mesh-wide.
   */
  readonly proxyMetadata: Readonly<Record<string, string>>;
}

export interface ContainerResources {
  readonly requests: { readonly cpu: string; readonly memory: string };
  readonly limits: { readonly memory: string };
}

/** Istio's ports and UID, the mesh-system services of deploy/k8s, and modest resources. */
export const defaultInjectionTemplate: InjectionTemplate = {
  image: "ghcr.io/meshwork/sidecar:0.1.0",
  proxyUid: 1337,
  inboundPort: 15006,
  outboundPort: 15001,
  adminPort: 15000,
  statsPort: 15020,
  discoveryAddress: "control-plane.mesh-system.svc.cluster.local:15010",
  caAddress: "ca.mesh-system.svc.cluster.local:15012",
  trustDomain: "cluster.local",
  caRootConfigMap: "meshwork-ca-root-cert",
  tokenAudience: "meshwork-ca",
  logLevel: "info",
  sidecarResources: { requests: { cpu: "50m", memory: "64Mi" }, limits: { memory: "256Mi" } },
  initResources: { requests: { cpu: "10m", memory: "16Mi" }, limits: { memory: "64Mi" } },
  proxyMetadata: {},
};
