// Decides whether a pod gets a sidecar and, if so, the JSON Patch that adds it (pure): the
// sidecar container, the init container that installs the iptables capture rules
// (buildCaptureRules), and the volumes they need (projected token for the CA, the mesh root, a
// tmpfs), one inbound listener per captured container port (planInboundPortMap: its REDIRECT
// rule and the sidecar's MESHWORK_INBOUND_PORT_MAP), and the app's HTTP/TCP probes pointed at the sidecar's status port (rewriteAppProbes). Idempotent: a pod that already carries the status annotation or the containers is left
// alone. Istio's `proxy.istio.io/config` annotation sets the sidecar's proxyMetadata (environment,
// over the mesh default); ISTIO_META_DNS_CAPTURE: "true" there also captures the pod's DNS, and
// ISTIO_DUAL_STACK: "true" also installs the IPv6 rules (ip6tables) and binds the sidecar to `::`. Pods opt out with the annotation sidecar.meshwork.io/inject: "false"; namespaces opt in
// with the label meshwork-injection=enabled, which the webhook's namespaceSelector checks.
import { parse as parseYaml } from "yaml";
import type { JsonPatchOperation } from "./admission-review.ts";
import { pointerSegment } from "./admission-review.ts";
import { buildCaptureRules, CaptureOptionsError, defaultSidecarPorts, planInboundPortMap, type CaptureOptions } from "./capture-rules.ts";
import type { InjectionTemplate } from "./injection-template.ts";
import { rewriteAppProbes, type ProbedContainer } from "./rewrite-app-probes.ts";

export const injectionAnnotations = {
  /** "false" on a pod: never inject it. */
  inject: "sidecar.meshwork.io/inject",
  /** Set by the injector on the pods it injected (what it added, as JSON). */
  status: "sidecar.meshwork.io/status",
  /**
   * Comma-separated ports whose inbound connections go through the sidecar, "*" (the default) for
   * every port, "" for none (Istio's traffic.sidecar.istio.io/includeInboundPorts).
   */
  includeInboundPorts: "traffic.sidecar.meshwork.io/includeInboundPorts",
  /** Comma-separated ports whose inbound connections bypass the sidecar. */
  excludeInboundPorts: "traffic.sidecar.meshwork.io/excludeInboundPorts",
  /** Comma-separated destination ports whose outbound connections bypass the sidecar. */
  excludeOutboundPorts: "traffic.sidecar.meshwork.io/excludeOutboundPorts",
  /** Comma-separated CIDRs whose outbound connections bypass the sidecar: IPv4 ones in iptables, IPv6 ones in ip6tables. */
  excludeOutboundIPRanges: "traffic.sidecar.meshwork.io/excludeOutboundIPRanges",
  /** "false" on a pod: keep its HTTP/TCP probes as they are (Istio's sidecar.istio.io/rewriteAppHTTPProbers). */
  rewriteAppProbers: "sidecar.meshwork.io/rewriteAppHTTPProbers",
  /**
   * "true" on a pod: the sidecar serves the SPIFFE Workload API on `<workloadSocketDir>/socket` in
   * the volume `meshwork-workload-socket`, which the app's containers mount to reach it (Istio's
   * workload-socket volume). Opt-in: serving it loads the gRPC server in the sidecar.
   */
  workloadApi: "sidecar.meshwork.io/workloadApi",
  /**
   * Istio's per-pod ProxyConfig (YAML or JSON). Its `proxyMetadata` entries become environment
   * variables of the sidecar, over the mesh default (InjectionTemplate.proxyMetadata); with
   * `ISTIO_META_DNS_CAPTURE: "true"` the capture rules also send the pod's DNS (port 53) to the
   * sidecar's DNS proxy; with `ISTIO_DUAL_STACK: "true"` the pod gets IPv6 capture too. Other
   * ProxyConfig fields are not read.
   */
  proxyConfig: "proxy.istio.io/config",
} as const;

/** The proxyMetadata key that turns DNS capture on (Istio's), and the DNS proxy's port. */
export const dnsCaptureKey = "ISTIO_META_DNS_CAPTURE";
export const dnsProxyPort = 15053;

/**
 * The proxyMetadata key that marks the pod dual-stack (Istio's ISTIO_DUAL_STACK, set mesh-wide in
 * meshConfig.defaultConfig.proxyMetadata or per pod): the init container also pipes the IPv6 rules
 * into ip6tables-restore, and the sidecar binds `::` (a dual-stack socket) so the redirected IPv6
 * connections find its listeners. Off (the default), nothing touches ip6tables, so nodes without it work.
 */
export const dualStackKey = "ISTIO_DUAL_STACK";

/** Where the injected sidecar serves the Workload API (Istio's path), in the volume injectedNames.workloadSocketVolume. */
export const workloadSocketDir = "/var/run/secrets/workload-spiffe-uds";

export const injectedNames = {
  sidecar: "meshwork-proxy",
  init: "meshwork-init",
  tokenVolume: "meshwork-token",
  caRootVolume: "meshwork-ca-root",
  tmpVolume: "meshwork-tmp",
  initRunVolume: "meshwork-init-run",
  workloadSocketVolume: "meshwork-workload-socket",
} as const;

/** The fields of a Pod the injector reads. */
export interface PodLike {
  readonly metadata?: { readonly name?: string; readonly generateName?: string; readonly labels?: Record<string, string>; readonly annotations?: Record<string, string> };
  readonly spec?: {
    readonly hostNetwork?: boolean;
    readonly containers?: readonly (ProbedContainer & { readonly ports?: readonly { readonly name?: string; readonly containerPort: number; readonly protocol?: string }[] })[];
    readonly initContainers?: readonly { readonly name: string }[];
    readonly volumes?: readonly { readonly name: string }[];
  };
}

export type InjectionPlan =
  | { readonly type: "inject"; readonly patch: readonly JsonPatchOperation[] }
  | { readonly type: "skip"; readonly reason: string }
  | { readonly type: "reject"; readonly message: string };

/** What the injector does with `pod` (the admission request's object). */
export function planInjection(pod: unknown, template: InjectionTemplate): InjectionPlan {
  if (!isPod(pod)) return { type: "reject", message: "the admission request's object is not a Pod (expected metadata and spec.containers): the webhook only handles pods; check its rules" };
  const annotations = pod.metadata?.annotations ?? {};
  const optOut = annotations[injectionAnnotations.inject];
  if (isOff(optOut)) return { type: "skip", reason: `annotation ${injectionAnnotations.inject}: "${optOut}"` };
  if (annotations[injectionAnnotations.status] !== undefined) return { type: "skip", reason: `already injected (annotation ${injectionAnnotations.status})` };
  const spec = pod.spec;
  const taken = [...spec.containers.map((c) => c.name), ...(spec.initContainers ?? []).map((c) => c.name)];
  if (taken.includes(injectedNames.sidecar) || taken.includes(injectedNames.init)) return { type: "skip", reason: `already has a ${injectedNames.sidecar} or ${injectedNames.init} container` };
  if (spec.hostNetwork === true) return { type: "skip", reason: "hostNetwork pod: capture rules would apply to the node's network namespace" };

  const clash = (spec.volumes ?? []).map((v) => v.name).find((name) => (Object.values(injectedNames) as string[]).includes(name));
  if (clash) return { type: "reject", message: `volume name "${clash}" is reserved for the injected sidecar: rename the volume, or opt the pod out with ${injectionAnnotations.inject}: "false"` };

  let proxyMetadata: Readonly<Record<string, string>>;
  try {
    proxyMetadata = { ...template.proxyMetadata, ...parseProxyMetadata(annotations[injectionAnnotations.proxyConfig]) };
  } catch (error) {
    if (error instanceof AnnotationError) return { type: "reject", message: error.message };
    throw error;
  }
  const dnsCapture = isOn(proxyMetadata[dnsCaptureKey]);
  const dualStack = isOn(proxyMetadata[dualStackKey]);

  let rules: { readonly ipv4: string; readonly ipv6?: string };
  let inboundPortMap: Map<number, number>;
  // The TCP container ports: each captured one gets a sidecar listener of its own (the injector knows them; the sidecar cannot read the original destination).
  const containerPorts = spec.containers.flatMap((c) => c.ports ?? []).filter((p) => (p.protocol ?? "TCP") === "TCP").map((p) => p.containerPort);
  try {
    const capture: CaptureOptions = {
      proxyUid: template.proxyUid,
      inboundPort: template.inboundPort,
      outboundPort: template.outboundPort,
      sidecarPorts: [...new Set([...defaultSidecarPorts, template.adminPort, template.statsPort])],
      inboundPorts: parseIncludedPorts(annotations, injectionAnnotations.includeInboundPorts),
      excludeInboundPorts: parsePorts(annotations, injectionAnnotations.excludeInboundPorts),
      excludeOutboundPorts: parsePorts(annotations, injectionAnnotations.excludeOutboundPorts),
      excludeOutboundCidrs: parseList(annotations[injectionAnnotations.excludeOutboundIPRanges]),
      ...(dnsCapture ? { dnsPort: dnsProxyPort } : {}),
    };
    inboundPortMap = planInboundPortMap(containerPorts, capture);
    rules = {
      ipv4: buildCaptureRules({ ...capture, inboundPortMap }),
      ...(dualStack ? { ipv6: buildCaptureRules({ ...capture, inboundPortMap, family: "ipv6" }) } : {}),
    };
  } catch (error) {
    if (error instanceof AnnotationError) return { type: "reject", message: error.message };
    if (error instanceof CaptureOptionsError && error.message.startsWith("excludeOutboundPorts has 53")) {
      return { type: "reject", message: `annotations ${injectionAnnotations.excludeOutboundPorts} and ${injectionAnnotations.proxyConfig}: ${error.message}` };
    }
    if (error instanceof CaptureOptionsError && error.message.startsWith("excludeOutboundCidrs")) return { type: "reject", message: `annotation ${injectionAnnotations.excludeOutboundIPRanges}: ${error.message.replace(/^excludeOutboundCidrs: /, "")}` };
    if (error instanceof CaptureOptionsError && error.message.startsWith("containerPorts")) return { type: "reject", message: `spec.containers[].ports: ${error.message.replace(/^containerPorts: /, "")}` };
    if (error instanceof CaptureOptionsError) return { type: "reject", message: `the pod's capture rules: ${error.message}` };
    throw error;
  }

  const appPort = spec.containers.flatMap((c) => c.ports ?? []).find((p) => (p.protocol ?? "TCP") === "TCP")?.containerPort;
  const workloadApi = isOn(annotations[injectionAnnotations.workloadApi]);
  const volumes = injectedVolumes(template, workloadApi);
  const status = { version: 1, initContainers: [injectedNames.init], containers: [injectedNames.sidecar], volumes: volumes.map((v) => v["name"] as string) };
  const patch: JsonPatchOperation[] = [];
  if (pod.metadata?.annotations === undefined) patch.push({ op: "add", path: "/metadata/annotations", value: { [injectionAnnotations.status]: JSON.stringify(status) } });
  else patch.push({ op: "add", path: `/metadata/annotations/${pointerSegment(injectionAnnotations.status)}`, value: JSON.stringify(status) });
  // Appended after the pod's own init containers, so theirs run with plain networking.
  const init = initContainer(template, rules);
  if (spec.initContainers === undefined) patch.push({ op: "add", path: "/spec/initContainers", value: [init] });
  else patch.push({ op: "add", path: "/spec/initContainers/-", value: init });
  // The app's HTTP/TCP probes go to the sidecar's status port (which capture never redirects).
  const probes = isOff(annotations[injectionAnnotations.rewriteAppProbers]) ? { patch: [], probers: {} } : rewriteAppProbes(spec.containers, template.statsPort);
  patch.push(...probes.patch);
  patch.push({ op: "add", path: "/spec/containers/-", value: sidecarContainer(template, pod.metadata?.labels ?? {}, { appPort, inboundPortMap, dualStack, dnsCapture }, probes.probers, workloadApi, proxyMetadata) });
  if (spec.volumes === undefined) patch.push({ op: "add", path: "/spec/volumes", value: volumes });
  else for (const volume of volumes) patch.push({ op: "add", path: "/spec/volumes/-", value: volume });
  return { type: "inject", patch };
}

function initContainer(template: InjectionTemplate, rules: { readonly ipv4: string; readonly ipv6?: string }): Record<string, unknown> {
  const ipv4 = 'printf "%s" "$MESHWORK_CAPTURE_RULES" | iptables-restore --noflush';
  // Dual-stack: the IPv6 rules too, and a failure of either fails the pod's start (uncaptured IPv6 would bypass the mesh).
  const ipv6 = 'printf "%s" "$MESHWORK_CAPTURE_RULES_V6" | ip6tables-restore --noflush';
  return {
    name: injectedNames.init,
    image: template.image,
    imagePullPolicy: "IfNotPresent",
    command: ["sh", "-c", rules.ipv6 === undefined ? ipv4 : `${ipv4} && ${ipv6}`],
    env: [{ name: "MESHWORK_CAPTURE_RULES", value: rules.ipv4 }, ...(rules.ipv6 === undefined ? [] : [{ name: "MESHWORK_CAPTURE_RULES_V6", value: rules.ipv6 }])],
    resources: template.initResources,
    // The only privileged step: root with NET_ADMIN/NET_RAW in the pod's network namespace, once.
    securityContext: {
      runAsUser: 0,
      runAsGroup: 0,
      runAsNonRoot: false,
      allowPrivilegeEscalation: false,
      readOnlyRootFilesystem: true,
      capabilities: { add: ["NET_ADMIN", "NET_RAW"], drop: ["ALL"] },
    },
    // iptables takes its lock under /run.
    volumeMounts: [{ name: injectedNames.initRunVolume, mountPath: "/run" }],
  };
}

function sidecarContainer(
  template: InjectionTemplate,
  labels: Record<string, string>,
  ports: { readonly appPort: number | undefined; readonly inboundPortMap: ReadonlyMap<number, number>; readonly dualStack: boolean; readonly dnsCapture: boolean },
  appProbers: Readonly<Record<string, unknown>>,
  workloadApi: boolean,
  proxyMetadata: Readonly<Record<string, string>>,
): Record<string, unknown> {
  const fieldEnv = (name: string, fieldPath: string) => ({ name, valueFrom: { fieldRef: { fieldPath } } });
  const env: Record<string, unknown>[] = [
    fieldEnv("MESHWORK_NAMESPACE", "metadata.namespace"),
    fieldEnv("MESHWORK_WORKLOAD_NAME", "metadata.name"),
    fieldEnv("MESHWORK_SERVICE_ACCOUNT", "spec.serviceAccountName"),
    { name: "MESHWORK_LABELS", value: Object.entries(labels).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([k, v]) => `${k}=${v}`).join(",") },
    // Dual-stack: `::` takes the IPv6 connections the ip6tables rules redirect (to ::1 for outbound,
    // the pod's IPv6 address for inbound) and, as a dual-stack socket, the IPv4 ones as before.
    { name: "MESHWORK_SIDECAR_BIND", value: ports.dualStack ? "::" : "0.0.0.0" },
    // The DNS proxy listens on 127.0.0.1 by default; IPv6 queries are redirected to ::1, so it listens
    // there too. Loopback only, as Istio's agent (both families' localhost): `::` would open the
    // DNS port on the pod's own addresses to the network.
    ...(ports.dualStack && ports.dnsCapture ? [{ name: "MESHWORK_DNS_BIND", value: "127.0.0.1,::1" }] : []),
    { name: "MESHWORK_INBOUND_PORT", value: String(template.inboundPort) },
    { name: "MESHWORK_OUTBOUND_PORT", value: String(template.outboundPort) },
    { name: "MESHWORK_ADMIN_PORT", value: String(template.adminPort) },
    { name: "MESHWORK_STATS_PORT", value: String(template.statsPort) },
    ...(ports.appPort === undefined ? [] : [{ name: "MESHWORK_APP_PORT", value: String(ports.appPort) }]),
    // Container port → its own inbound listener, where the capture rules redirect that port (planInboundPortMap).
    ...(ports.inboundPortMap.size === 0 ? [] : [{ name: "MESHWORK_INBOUND_PORT_MAP", value: [...ports.inboundPortMap].map(([port, listenPort]) => `${port}:${listenPort}`).join(",") }]),
    { name: "MESHWORK_TRUST_DOMAIN", value: template.trustDomain },
    { name: "MESHWORK_CA_ADDRESS", value: template.caAddress },
    { name: "MESHWORK_CA_ROOT_CERT", value: "/etc/meshwork/ca-root/root-cert.pem" },
    { name: "MESHWORK_WORKLOAD_TOKEN_FILE", value: "/var/run/secrets/tokens/meshwork-token" },
    { name: "MESHWORK_DISCOVERY_ADDRESS", value: template.discoveryAddress },
    { name: "MESHWORK_LOG_LEVEL", value: template.logLevel },
    // The probes rewritten to /app-health/... (Istio's ISTIO_KUBE_APP_PROBERS).
    ...(Object.keys(appProbers).length === 0 ? [] : [{ name: "MESHWORK_KUBE_APP_PROBERS", value: JSON.stringify(appProbers) }]),
    ...(workloadApi ? [{ name: "MESHWORK_WORKLOAD_API_SOCKET", value: `${workloadSocketDir}/socket` }] : []),
    // Istio's proxyMetadata (mesh default, then the pod's proxy.istio.io/config): ISTIO_META_DNS_CAPTURE, ...
    ...Object.keys(proxyMetadata)
      .sort()
      .map((name) => ({ name, value: proxyMetadata[name] ?? "" })),
  ];
  return {
    name: injectedNames.sidecar,
    image: template.image,
    imagePullPolicy: "IfNotPresent",
    env,
    ports: [{ name: "meshwork-stats", containerPort: template.statsPort, protocol: "TCP" }],
    resources: template.sidecarResources,
    readinessProbe: { httpGet: { path: "/healthz/ready", port: template.statsPort }, periodSeconds: 2, failureThreshold: 30 },
    livenessProbe: { httpGet: { path: "/stats/prometheus", port: template.statsPort }, periodSeconds: 10, failureThreshold: 3 },
    securityContext: {
      runAsUser: template.proxyUid,
      runAsGroup: template.proxyUid,
      runAsNonRoot: true,
      allowPrivilegeEscalation: false,
      readOnlyRootFilesystem: true,
      capabilities: { drop: ["ALL"] },
    },
    volumeMounts: [
      { name: injectedNames.tokenVolume, mountPath: "/var/run/secrets/tokens", readOnly: true },
      { name: injectedNames.caRootVolume, mountPath: "/etc/meshwork/ca-root", readOnly: true },
      { name: injectedNames.tmpVolume, mountPath: "/tmp" },
      ...(workloadApi ? [{ name: injectedNames.workloadSocketVolume, mountPath: workloadSocketDir }] : []),
    ],
  };
}

function injectedVolumes(template: InjectionTemplate, workloadApi: boolean): Record<string, unknown>[] {
  return [
    { name: injectedNames.tokenVolume, projected: { sources: [{ serviceAccountToken: { path: "meshwork-token", audience: template.tokenAudience, expirationSeconds: 3600 } }] } },
    { name: injectedNames.caRootVolume, configMap: { name: template.caRootConfigMap } },
    { name: injectedNames.tmpVolume, emptyDir: { medium: "Memory", sizeLimit: "32Mi" } },
    { name: injectedNames.initRunVolume, emptyDir: { medium: "Memory", sizeLimit: "1Mi" } },
    ...(workloadApi ? [{ name: injectedNames.workloadSocketVolume, emptyDir: { medium: "Memory", sizeLimit: "1Mi" } }] : []),
  ];
}

class AnnotationError extends Error {}

/** Environment variable names Kubernetes accepts (C_IDENTIFIER and the relaxed form: letters, digits, `_`, `-`, `.`). */
const envName = /^[-._a-zA-Z][-._a-zA-Z0-9]*$/;

/** The `proxyMetadata` of a proxy.istio.io/config annotation (YAML or JSON); {} without one. */
function parseProxyMetadata(text: string | undefined): Record<string, string> {
  if (text === undefined || text.trim() === "") return {};
  const name = injectionAnnotations.proxyConfig;
  let config: unknown;
  try {
    config = parseYaml(text);
  } catch (error) {
    throw new AnnotationError(`annotation ${name}: not YAML (${(error as Error).message.split("\n")[0]}); write Istio's ProxyConfig, e.g. "proxyMetadata: { ISTIO_META_DNS_CAPTURE: "true" }"`);
  }
  if (config === null || config === undefined) return {};
  if (typeof config !== "object" || Array.isArray(config)) throw new AnnotationError(`annotation ${name}: expected a ProxyConfig object, e.g. "proxyMetadata: { ISTIO_META_DNS_CAPTURE: "true" }"`);
  const metadata = (config as { proxyMetadata?: unknown }).proxyMetadata;
  if (metadata === undefined || metadata === null) return {};
  if (typeof metadata !== "object" || Array.isArray(metadata)) throw new AnnotationError(`annotation ${name}: proxyMetadata must map variable names to values, e.g. { ISTIO_META_DNS_CAPTURE: "true" }`);
  const out: Record<string, string> = {};
  for (const [key, value] of Object.entries(metadata as Record<string, unknown>)) {
    if (!envName.test(key)) throw new AnnotationError(`annotation ${name}: proxyMetadata key "${key}" is not an environment variable name: use letters, digits, "_", "-" and "."`);
    if (typeof value !== "string" && typeof value !== "number" && typeof value !== "boolean") throw new AnnotationError(`annotation ${name}: proxyMetadata.${key} must be a string, e.g. "true"`);
    out[key] = String(value);
  }
  return out;
}

/** An annotation value that switches something on ("true", "yes", "1", "on"). */
function isOn(value: string | undefined): boolean {
  return value !== undefined && ["true", "yes", "y", "1", "on"].includes(value.trim().toLowerCase());
}

/** An annotation value that switches something off ("false", "no", "0", "off"). */
function isOff(value: string | undefined): boolean {
  return value !== undefined && ["false", "no", "n", "0", "off"].includes(value.trim().toLowerCase());
}

function parseList(text: string | undefined): string[] {
  return (text ?? "").split(",").map((s) => s.trim()).filter((s) => s !== "");
}

/** An includeInboundPorts annotation: "*" (also when absent), or its ports ("" captures none). */
function parseIncludedPorts(annotations: Record<string, string>, name: string): "*" | number[] {
  const text = annotations[name];
  return text === undefined || text.trim() === "*" ? "*" : parsePorts(annotations, name);
}

function parsePorts(annotations: Record<string, string>, name: string): number[] {
  return parseList(annotations[name]).map((item) => {
    const port = /^\d+$/.test(item) ? Number(item) : NaN;
    if (!(port >= 1 && port <= 65535)) throw new AnnotationError(`annotation ${name}: "${item}" is not a TCP port: write comma-separated ports from 1 to 65535, e.g. "8080,9090"`);
    return port;
  });
}

function isPod(value: unknown): value is PodLike & { spec: NonNullable<PodLike["spec"]> & { containers: NonNullable<NonNullable<PodLike["spec"]>["containers"]> } } {
  if (typeof value !== "object" || value === null) return false;
  const spec = (value as { spec?: unknown }).spec;
  return typeof spec === "object" && spec !== null && Array.isArray((spec as { containers?: unknown }).containers);
}
