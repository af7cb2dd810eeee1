// What `meshctl up` runs for a topology: every process (command line, readiness probe, what it
// waits for), the files it writes first (the bookinfo workloads the control planes read), the
// workload tokens it mints before a sidecar starts (so the sidecar gets its SVID from the CA) and
// the config it applies once the control plane is ready (Istio's bookinfo gateway and destination
// rules). Every sidecar, the ingress gateway included, is managed by the control planes. Pure:
// the supervisor in adapters/ does the spawning. Ports come from the topology's blocks, so a second mesh with
// another basePort does not collide with the first. Layout: docs/design/local-mesh.md.
import type { LocalMeshTopology } from "./local-mesh-topology.ts";

export interface ProcessSpec {
  /** Unique, shown as the log prefix: `registry-1`, `ca`, `reviews-v2`, `reviews-v2-sidecar`. */
  readonly name: string;
  /** Workspace-relative path of the app's entry (run from source with tsx). */
  readonly entry: string;
  readonly args: readonly string[];
  /** GET this until it answers 2xx. */
  readonly readyUrl: string;
  /** Processes that must be ready before this one starts. */
  readonly after: readonly string[];
  /** Mint this workload token (with the CA's issuer key) into `path` before starting the process. */
  readonly workloadToken?: WorkloadTokenSpec;
  /** Once the process is ready, POST these files (state-dir relative) to this config API (`meshctl apply`). */
  readonly applyWhenReady?: { readonly url: string; readonly files: readonly string[] };
}

export interface WorkloadTokenSpec {
  /** The CA's data dir (absolute): its token issuer key. */
  readonly caDataDir: string;
  readonly namespace: string;
  readonly serviceAccount: string;
  /** Where the sidecar reads it (absolute). */
  readonly path: string;
}

export interface PlannedFile {
  /** Relative to the state directory. */
  readonly path: string;
  readonly text: string;
}

export interface LocalMeshPlan {
  readonly processes: readonly ProcessSpec[];
  readonly files: readonly PlannedFile[];
  /** What to print when everything is ready. */
  readonly urls: readonly { readonly label: string; readonly url: string }[];
}

/** A bookinfo workload: service, version, and the service account it runs as. */
interface Workload {
  readonly service: "productpage" | "details" | "reviews" | "ratings";
  readonly version: "v1" | "v2" | "v3";
}

const bookinfoWorkloads: readonly Workload[] = [
  { service: "productpage", version: "v1" },
  { service: "details", version: "v1" },
  { service: "reviews", version: "v1" },
  { service: "reviews", version: "v2" },
  { service: "reviews", version: "v3" },
  { service: "ratings", version: "v1" },
];

/** The bookinfo services' port (Istio's sample: 9080 for all four). */
const servicePort = 9080;
const namespace = "default";

/** Port blocks above basePort. */
function ports(topology: LocalMeshTopology) {
  const base = topology.basePort;
  return {
    registry: (i: number) => ({ raft: base + i * 10, http: base + i * 10 + 1, grpc: base + i * 10 + 2, admin: base + i * 10 + 3, dns: base + i * 10 + 4, gossip: base + i * 10 + 5 }),
    ca: { grpc: base + 100, admin: base + 101 },
    gateway: { admin: base + 102, stats: base + 103 },
    controlPlane: (j: number) => ({ grpc: base + 110 + j * 10, admin: base + 111 + j * 10 }),
    workload: (k: number) => ({ app: base + 200 + k * 10, outbound: base + 201 + k * 10, inbound: base + 202 + k * 10, admin: base + 203 + k * 10, stats: base + 204 + k * 10 }),
  };
}

/** The processes and files of `topology`; `stateDir` is where data dirs and config live (absolute). */
export function planLocalMesh(topology: LocalMeshTopology, stateDir: string): LocalMeshPlan {
  const host = topology.host;
  const p = ports(topology);
  const processes: ProcessSpec[] = [];
  const registryNames = Array.from({ length: topology.registryServers }, (_, i) => `registry-${i + 1}`);
  const peers = registryNames.map((name, i) => `${name}=${host}:${p.registry(i).raft}`).join(",");
  const gossipPeers = registryNames.map((_, i) => `${host}:${p.registry(i).gossip}`);
  registryNames.forEach((name, i) => {
    const r = p.registry(i);
    // Servers find each other and notice failures by gossip (Consul's serf LAN pool).
    const join = gossipPeers.filter((_, k) => k !== i);
    processes.push({
      name,
      entry: "apps/registry/src/main.ts",
      args: ["--node-id", name, "--peers", peers, "--data-dir", `${stateDir}/${name}`, "--bind", host, "--raft-port", `${r.raft}`, "--http-port", `${r.http}`, "--grpc-port", `${r.grpc}`, "--admin-port", `${r.admin}`, "--dns-port", `${r.dns}`, "--gossip-port", `${r.gossip}`, ...(join.length > 0 ? ["--retry-join", join.join(",")] : [])],
      readyUrl: `http://${host}:${r.admin}/readyz`,
      after: [],
    });
  });
  const caDataDir = `${stateDir}/ca`;
  processes.push({
    name: "ca",
    entry: "apps/ca/src/main.ts",
    args: ["--data-dir", caDataDir, "--host", host, "--grpc-port", `${p.ca.grpc}`, "--admin-port", `${p.ca.admin}`],
    readyUrl: `http://${host}:${p.ca.admin}/readyz`,
    after: [],
  });
  const registryGrpc = registryNames.map((_, i) => `${host}:${p.registry(i).grpc}`).join(",");
  const registryHttp = registryNames.map((_, i) => `http://${host}:${p.registry(i).http}`).join(",");
  // Each replica's console merges the other replicas' proxy reports (a proxy reports only to the replica it streams from).
  const controlPlaneAdmins = Array.from({ length: topology.controlPlaneReplicas }, (_, j) => `http://${host}:${p.controlPlane(j).admin}`);
  const controlPlaneNames: string[] = [];
  for (let j = 0; j < topology.controlPlaneReplicas; j++) {
    const c = p.controlPlane(j);
    const name = `control-plane-${j + 1}`;
    controlPlaneNames.push(name);
    // Its SVID (spiffe://cluster.local/ns/istio-system/sa/control-plane) from the CA: the proxies'
    // discovery streams are mutual TLS, and the CA's bundle (root rotations) is followed.
    const controlPlaneToken = `${stateDir}/tokens/${name}.jwt`;
    processes.push({
      name,
      entry: "apps/control-plane/src/main.ts",
      args: [
        "--id", name, "--bind", host, "--grpc-port", `${c.grpc}`, "--admin-port", `${c.admin}`, "--registry-grpc", registryGrpc, "--registry-http", registryHttp,
        "--config-dir", `${stateDir}/config`,
        "--trust-bundle", `${caDataDir}/root-cert.pem`,
        "--ca-address", `${host}:${p.ca.grpc}`,
        "--workload-token-file", controlPlaneToken,
        ...(controlPlaneAdmins.length > 1 ? ["--console-peers", controlPlaneAdmins.filter((_, k) => k !== j).join(",")] : []),
      ],
      readyUrl: `http://${host}:${c.admin}/ready`,
      // The CA writes its root on first start; the control planes push it as the trust bundle.
      after: [...registryNames, "ca"],
      workloadToken: { caDataDir, namespace: "istio-system", serviceAccount: "control-plane", path: controlPlaneToken },
      ...(j === 0 && topology.bookinfo ? { applyWhenReady: { url: `http://${host}:${c.admin}/api/v1/config`, files: ["apply/bookinfo-gateway.yaml", "apply/destination-rule-all.yaml"] } } : {}),
    });
  }
  const discovery = Array.from({ length: topology.controlPlaneReplicas }, (_, j) => `${host}:${p.controlPlane(j).grpc}`).join(",");
  /**
   * What makes a sidecar managed (discovery) and gives it an SVID (CA + token minted before it
   * starts); with an OTLP endpoint, its spans go there (sampling Istio's 1 %, or the caller's decision).
   */
  const meshArgs = (workload: string, ns: string, serviceAccount: string): { args: string[]; workloadToken: WorkloadTokenSpec } => {
    const token = `${stateDir}/tokens/${workload}.jwt`;
    return {
      args: [
        "--discovery-address", discovery,
        "--ca-address", `${host}:${p.ca.grpc}`,
        "--ca-root-cert", `${caDataDir}/root-cert.pem`,
        "--workload-token-file", token,
        "--service-account", serviceAccount,
        ...(topology.otlpEndpoint !== undefined ? ["--otlp-endpoint", topology.otlpEndpoint] : []),
      ],
      workloadToken: { caDataDir, namespace: ns, serviceAccount, path: token },
    };
  };
  const files: PlannedFile[] = [];
  const urls: { label: string; url: string }[] = [];
  if (topology.bookinfo) {
    files.push({ path: "config/bookinfo-services.yaml", text: bookinfoServices(host, p.workload) });
    files.push({ path: "apply/bookinfo-gateway.yaml", text: bookinfoGateway(topology.gatewayPort) });
    files.push({ path: "apply/destination-rule-all.yaml", text: destinationRuleAll() });
    const gatewayMesh = meshArgs("istio-ingressgateway", "istio-system", "istio-ingressgateway-service-account");
    processes.push({
      name: "ingress-gateway",
      entry: "apps/sidecar/src/main.ts",
      args: [
        "--proxy-mode", "router",
        ...gatewayMesh.args,
        "--proxy-id", "istio-ingressgateway.istio-system",
        "--namespace", "istio-system",
        "--labels", "istio=ingressgateway,app=istio-ingressgateway",
        "--bind", host,
        "--outbound-port=-1",
        "--inbound-port=-1",
        "--admin-port", `${p.gateway.admin}`,
        "--stats-port", `${p.gateway.stats}`,
        // A Gateway's tls.credentialName NAME is read from here (NAME/tls.crt, tls.key, ca.crt).
        "--credential-dir", `${stateDir}/gateway-credentials`,
      ],
      readyUrl: `http://${host}:${p.gateway.stats}/healthz/ready`,
      after: ["ca", ...controlPlaneNames.slice(0, 1)],
      workloadToken: gatewayMesh.workloadToken,
    });
    bookinfoWorkloads.forEach((w, k) => {
      const name = `${w.service}-${w.version}`;
      const wp = p.workload(k);
      const sidecar = `${name}-sidecar`;
      const mesh = meshArgs(name, namespace, `bookinfo-${w.service}`);
      processes.push({
        name: sidecar,
        entry: "apps/sidecar/src/main.ts",
        args: [
          ...mesh.args,
          "--namespace", namespace,
          "--workload-name", name,
          "--labels", `app=${w.service},version=${w.version}`,
          "--bind", host,
          "--outbound-port", `${wp.outbound}`,
          "--inbound-port", `${wp.inbound}`,
          "--app-port", `${wp.app}`,
          "--admin-port", `${wp.admin}`,
          "--stats-port", `${wp.stats}`,
        ],
        readyUrl: `http://${host}:${wp.stats}/healthz/ready`,
        after: ["ca", ...controlPlaneNames.slice(0, 1)],
        workloadToken: mesh.workloadToken,
      });
      processes.push({
        name,
        entry: "apps/bookinfo/src/main.ts",
        args: [w.service, "--version", w.version, "--bind", host, "--port", `${wp.app}`, "--outbound-proxy", `http://${host}:${wp.outbound}`, "--pod-name", `${name}-1`],
        readyUrl: `http://${host}:${wp.app}/health`,
        after: [sidecar],
      });
    });
    urls.push({ label: "product page (through the ingress gateway)", url: `http://${host}:${topology.gatewayPort}/productpage` });
  }
  urls.push({ label: "console (service graph, proxies, config)", url: `http://${host}:${p.controlPlane(0).admin}/console/` });
  urls.push({ label: "control plane (config API, proxy status)", url: `http://${host}:${p.controlPlane(0).admin}/debug/syncz` });
  urls.push({ label: "registry (Consul HTTP API)", url: `http://${host}:${p.registry(0).http}/v1/status/leader` });
  return { processes, files, urls };
}

/**
 * ServiceEntries and WorkloadEntries of the bookinfo services on loopback: each workload is its
 * sidecar's inbound port, labelled like Istio's sample (app, version) and marked as having a
 * sidecar (security.istio.io/tlsMode), running as its own service account.
 */
function bookinfoServices(host: string, workloadPorts: (k: number) => { readonly inbound: number }): string {
  const documents: string[] = [];
  for (const service of ["productpage", "details", "reviews", "ratings"]) {
    documents.push(
      [
        "apiVersion: networking.istio.io/v1",
        "kind: ServiceEntry",
        `metadata: { name: ${service}, namespace: ${namespace} }`,
        "spec:",
        `  hosts: [${service}.${namespace}.svc.cluster.local]`,
        `  ports: [{ number: ${servicePort}, name: http, protocol: HTTP }]`,
        "  location: MESH_INTERNAL",
        "  resolution: STATIC",
        `  workloadSelector: { labels: { app: ${service} } }`,
      ].join("\n"),
    );
  }
  bookinfoWorkloads.forEach((w, k) => {
    documents.push(
      [
        "apiVersion: networking.istio.io/v1",
        "kind: WorkloadEntry",
        `metadata: { name: ${w.service}-${w.version}, namespace: ${namespace} }`,
        "spec:",
        `  address: ${host}`,
        `  ports: { http: ${workloadPorts(k).inbound} }`,
        `  labels: { app: ${w.service}, version: ${w.version}, security.istio.io/tlsMode: istio }`,
        `  serviceAccount: bookinfo-${w.service}`,
      ].join("\n"),
    );
  });
  return `# Written by meshctl up: the bookinfo workloads of the local mesh.\n${documents.join("\n---\n")}\n`;
}

/** Istio's samples/bookinfo/networking/destination-rule-all.yaml: the subsets of every bookinfo service. */
function destinationRuleAll(): string {
  const subsets: Readonly<Record<string, readonly string[]>> = { productpage: ["v1"], reviews: ["v1", "v2", "v3"], ratings: ["v1", "v2", "v2-mysql", "v2-mysql-vm"], details: ["v1", "v2"] };
  const rules = Object.entries(subsets).map(([service, versions]) =>
    [
      "apiVersion: networking.istio.io/v1",
      "kind: DestinationRule",
      `metadata: { name: ${service}, namespace: ${namespace} }`,
      "spec:",
      `  host: ${service}`,
      "  subsets:",
      ...versions.map((v) => `  - { name: ${v}, labels: { version: ${v} } }`),
    ].join("\n"),
  );
  return `# Written by meshctl up: Istio's destination-rule-all.yaml.\n${rules.join("\n---\n")}\n`;
}

/** Istio's samples/bookinfo/networking/bookinfo-gateway.yaml, on the topology's gateway port. */
function bookinfoGateway(port: number): string {
  return `# Written by meshctl up: Istio's bookinfo-gateway.yaml on port ${port}.
apiVersion: networking.istio.io/v1
kind: Gateway
metadata: { name: bookinfo-gateway, namespace: ${namespace} }
spec:
  selector: { istio: ingressgateway }
  servers:
  - port: { number: ${port}, name: http, protocol: HTTP }
    hosts: ["*"]
---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: { name: bookinfo, namespace: ${namespace} }
spec:
  hosts: ["*"]
  gateways: [bookinfo-gateway]
  http:
  - match:
    - uri: { exact: /productpage }
    - uri: { prefix: /static }
    - uri: { exact: /login }
    - uri: { exact: /logout }
    - uri: { prefix: /api/v1/products }
    route:
    - destination: { host: productpage, port: { number: ${servicePort} } }
`;
}
