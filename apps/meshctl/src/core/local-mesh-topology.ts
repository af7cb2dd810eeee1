// The topology `meshctl up` starts (DESIGN.md §4): how many registry servers and control-plane
// replicas, whether the bookinfo demo runs, and the ports, from defaults or a YAML file given
// with `--config`. Pure: parses and checks a decoded YAML value.

export interface LocalMeshTopology {
  /** Raft servers of the registry (1, 3 or 5). */
  readonly registryServers: number;
  readonly controlPlaneReplicas: number;
  readonly bookinfo: boolean;
  /** The ingress gateway's HTTP port (the product page URL). */
  readonly gatewayPort: number;
  /**
   * First of the ports given to everything else, in blocks: registry servers, ca, control planes,
   * then one block of 10 per workload (app, sidecar outbound/inbound/admin/stats).
   */
  readonly basePort: number;
  /** Bind address of every process. */
  readonly host: string;
  /** OTLP/HTTP traces endpoint every proxy exports spans to (`http://HOST:4318/v1/traces`); none when absent. */
  readonly otlpEndpoint?: string;
}

export const defaultTopology: LocalMeshTopology = {
  registryServers: 3,
  controlPlaneReplicas: 2,
  bookinfo: true,
  gatewayPort: 8080,
  basePort: 21000,
  host: "127.0.0.1",
};

export type TopologyResult = { readonly ok: true; readonly topology: LocalMeshTopology } | { readonly ok: false; readonly message: string };

const fields: Readonly<Record<string, string>> = {
  registryServers: "registryServers: 1, 3 or 5",
  controlPlaneReplicas: "controlPlaneReplicas: 1 to 5",
  bookinfo: "bookinfo: true or false",
  gatewayPort: "gatewayPort: a port number",
  basePort: "basePort: a port number with room for 500 ports above it",
  host: "host: a loopback address such as 127.0.0.1",
  otlpEndpoint: "otlpEndpoint: an http(s) URL such as http://127.0.0.1:4318/v1/traces",
};

/** Reads a topology file's decoded YAML (`file` names it in errors); absent fields keep their defaults. */
export function parseTopology(value: unknown, file: string): TopologyResult {
  if (value === null || value === undefined) return { ok: true, topology: defaultTopology };
  if (typeof value !== "object" || Array.isArray(value)) return { ok: false, message: `${file}: expected a mapping of ${Object.keys(fields).join(", ")}` };
  const input = value as Record<string, unknown>;
  for (const key of Object.keys(input)) {
    if (!(key in fields)) return { ok: false, message: `${file}: unknown field "${key}"; the fields are ${Object.keys(fields).join(", ")}` };
  }
  const topology = { ...defaultTopology, ...input } as LocalMeshTopology;
  const bad = (key: keyof LocalMeshTopology): TopologyResult => ({ ok: false, message: `${file}: invalid ${key} ${JSON.stringify(input[key])}; expected ${fields[key]}` });
  if (![1, 3, 5].includes(topology.registryServers)) return bad("registryServers");
  if (!Number.isInteger(topology.controlPlaneReplicas) || topology.controlPlaneReplicas < 1 || topology.controlPlaneReplicas > 5) return bad("controlPlaneReplicas");
  if (typeof topology.bookinfo !== "boolean") return bad("bookinfo");
  if (!isPort(topology.gatewayPort)) return bad("gatewayPort");
  if (!isPort(topology.basePort) || topology.basePort + 500 > 65535) return bad("basePort");
  if (typeof topology.host !== "string" || topology.host === "") return bad("host");
  if (topology.otlpEndpoint !== undefined && (typeof topology.otlpEndpoint !== "string" || !/^https?:\/\/\S+$/u.test(topology.otlpEndpoint))) return bad("otlpEndpoint");
  return { ok: true, topology };
}

function isPort(value: unknown): value is number {
  return Number.isInteger(value) && (value as number) >= 1 && (value as number) <= 65535;
}
