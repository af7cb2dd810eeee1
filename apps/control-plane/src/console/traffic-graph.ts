// Turns Istio metric samples into the console's service graph (Kiali's "versioned app graph"):
// workload nodes (an app's versions, boxed by app), service nodes, and edges client workload →
// service → serving workload with request rate, error share, p99 latency and mTLS. Pure: the
// samples are increases over a time window, from scrapes of the proxies or from Prometheus.
import type { MetricSample } from "./prometheus-text.ts";

export const REQUESTS_TOTAL = "istio_requests_total";
export const DURATION_BUCKET = "istio_request_duration_milliseconds_bucket";

/** Increases of the Istio series over a window of `windowSeconds`. */
export interface TrafficWindow {
  /** `istio_requests_total` increases (any labels; reporter, workloads, service, response_code, connection_security_policy are read). */
  readonly requests: readonly MetricSample[];
  /** `istio_request_duration_milliseconds_bucket` increases (the same labels plus `le`). */
  readonly durationBuckets: readonly MetricSample[];
  readonly windowSeconds: number;
}

/** Kiali's request health: idle without traffic, degraded at ≥ 0.1 % errors, failing above 10 %. */
export type Health = "healthy" | "degraded" | "failing" | "idle";

export const DEGRADED_ERROR_RATE = 0.001;
export const FAILING_ERROR_RATE = 0.1;

export interface GraphNode {
  /** `wl:NS/WORKLOAD`, `svc:NS/NAME`, `app:NS/APP` (a box around an app's versions) or `unknown`. */
  readonly id: string;
  readonly kind: "workload" | "service" | "app" | "unknown";
  readonly namespace: string;
  /** Workload, service or app name. */
  readonly name: string;
  readonly app: string;
  readonly version: string;
  /** The app box of a workload node. */
  readonly parent?: string;
  readonly health: Health;
  /** Requests per second into the node (out of it for nodes nothing calls). */
  readonly requestsPerSecond: number;
  /** 0..1 */
  readonly errorRate: number;
}

export interface GraphEdge {
  readonly id: string;
  readonly source: string;
  readonly target: string;
  readonly requestsPerSecond: number;
  /** Share of 5xx (and of requests that got no response, code 0), 0..1. */
  readonly errorRate: number;
  /** 99th percentile duration in ms from the histogram buckets; null without buckets. */
  readonly p99Ms: number | null;
  /** Share of the requests the destination received over mutual TLS, 0..1; null when no destination proxy reported them. */
  readonly mtlsShare: number | null;
  /** All requests of the edge arrived over mutual TLS. */
  readonly mtls: boolean;
  readonly health: Health;
  /** Requests over the window per response code. */
  readonly responseCodes: Readonly<Record<string, number>>;
}

export interface TrafficGraph {
  readonly windowSeconds: number;
  readonly nodes: readonly GraphNode[];
  readonly edges: readonly GraphEdge[];
  /** Every namespace seen in the samples (for the namespace filter). */
  readonly namespaces: readonly string[];
}

export interface GraphOptions {
  /** Keep only edges with an end in one of these namespaces; empty: all. */
  readonly namespaces?: readonly string[];
}

const UNKNOWN = "unknown";

export function isErrorCode(code: string): boolean {
  return code === "0" || code.startsWith("5");
}

export function healthOf(requests: number, errors: number): Health {
  if (requests <= 0) return "idle";
  const rate = errors / requests;
  if (rate > FAILING_ERROR_RATE) return "failing";
  if (rate >= DEGRADED_ERROR_RATE) return "degraded";
  return "healthy";
}

/**
 * Prometheus' histogram_quantile: `buckets` are cumulative counts per upper bound `le` (with
 * +Inf); linear interpolation inside the bucket, the highest finite bound when the quantile
 * falls in +Inf. null without observations.
 */
export function histogramQuantile(q: number, buckets: readonly { readonly le: number; readonly count: number }[]): number | null {
  const sorted = [...buckets].sort((a, b) => a.le - b.le);
  const last = sorted.at(-1);
  if (last === undefined || last.count <= 0) return null;
  const rank = q * last.count;
  let previousLe = 0;
  let previousCount = 0;
  for (const bucket of sorted) {
    if (bucket.count >= rank) {
      if (bucket.le === Number.POSITIVE_INFINITY) return previousLe;
      const inBucket = bucket.count - previousCount;
      if (inBucket <= 0) return bucket.le;
      return previousLe + (bucket.le - previousLe) * ((rank - previousCount) / inBucket);
    }
    previousLe = bucket.le;
    previousCount = bucket.count;
  }
  return previousLe;
}

interface Endpoint {
  readonly workload: string;
  readonly namespace: string;
  readonly app: string;
  readonly version: string;
  readonly principal: string;
}

/** One client workload → service → serving workload flow, from one reporter. */
interface Flow {
  readonly reporter: string;
  readonly source: Endpoint;
  readonly destination: Endpoint;
  readonly serviceName: string;
  readonly serviceNamespace: string;
  readonly codes: Map<string, number>;
  readonly buckets: Map<number, number>;
  mutualTls: number;
  total: number;
}

function label(labels: Readonly<Record<string, string>>, name: string): string {
  const value = labels[name];
  return value === undefined || value === "" ? UNKNOWN : value;
}

function endpoint(labels: Readonly<Record<string, string>>, side: "source" | "destination"): Endpoint {
  return {
    workload: label(labels, `${side}_workload`),
    namespace: label(labels, `${side}_workload_namespace`),
    app: label(labels, `${side}_app`) === UNKNOWN ? label(labels, `${side}_canonical_service`) : label(labels, `${side}_app`),
    version: label(labels, `${side}_version`) === UNKNOWN ? label(labels, `${side}_canonical_revision`) : label(labels, `${side}_version`),
    principal: label(labels, `${side}_principal`),
  };
}

function serviceOf(labels: Readonly<Record<string, string>>): { name: string; namespace: string } {
  const name = label(labels, "destination_service_name");
  const host = label(labels, "destination_service");
  const namespace = label(labels, "destination_service_namespace");
  return { name: name === UNKNOWN ? host : name, namespace: namespace === UNKNOWN ? label(labels, "destination_workload_namespace") : namespace };
}

function flowKey(labels: Readonly<Record<string, string>>): string {
  const s = endpoint(labels, "source");
  const d = endpoint(labels, "destination");
  const svc = serviceOf(labels);
  return [label(labels, "reporter"), s.namespace, s.workload, d.namespace, d.workload, svc.namespace, svc.name].join("|");
}

function collectFlows(window: TrafficWindow): Map<string, Flow> {
  const flows = new Map<string, Flow>();
  const flowOf = (labels: Readonly<Record<string, string>>): Flow => {
    const key = flowKey(labels);
    let flow = flows.get(key);
    if (flow === undefined) {
      const svc = serviceOf(labels);
      flow = { reporter: label(labels, "reporter"), source: endpoint(labels, "source"), destination: endpoint(labels, "destination"), serviceName: svc.name, serviceNamespace: svc.namespace, codes: new Map(), buckets: new Map(), mutualTls: 0, total: 0 };
      flows.set(key, flow);
    }
    return flow;
  };
  for (const sample of window.requests) {
    if (sample.name !== REQUESTS_TOTAL || !(sample.value > 0)) continue;
    const flow = flowOf(sample.labels);
    const code = label(sample.labels, "response_code");
    flow.codes.set(code, (flow.codes.get(code) ?? 0) + sample.value);
    flow.total += sample.value;
    if (sample.labels["connection_security_policy"] === "mutual_tls") flow.mutualTls += sample.value;
  }
  for (const sample of window.durationBuckets) {
    if (sample.name !== DURATION_BUCKET || !(sample.value > 0)) continue;
    const le = Number(sample.labels["le"] === "+Inf" ? Number.POSITIVE_INFINITY : sample.labels["le"]);
    if (Number.isNaN(le)) continue;
    const flow = flows.get(flowKey(sample.labels));
    if (flow !== undefined) flow.buckets.set(le, (flow.buckets.get(le) ?? 0) + sample.value);
  }
  return flows;
}

/**
 * The flows to draw, each request counted once: what client proxies reported (reporter
 * `source`), plus what only a server proxy saw (reporter `destination`): requests from a known
 * client no proxy reported for, and requests from outside the mesh (source `unknown`, to a
 * workload no client proxy reported calling). Each drawn flow carries the mTLS share the server
 * proxy saw for it.
 */
function chooseFlows(all: Map<string, Flow>): Flow[] {
  const fromClients = [...all.values()].filter((f) => f.reporter === "source");
  const fromServers = [...all.values()].filter((f) => f.reporter === "destination");
  const pairKey = (f: Flow): string => `${f.source.namespace}/${f.source.workload}>${f.destination.namespace}/${f.destination.workload}`;
  const clientPairs = new Set(fromClients.map(pairKey));
  const chosen: Flow[] = [...fromClients];
  for (const server of fromServers) {
    if (server.source.workload !== UNKNOWN) {
      if (!clientPairs.has(pairKey(server))) chosen.push(server);
      continue;
    }
    // Source unknown (no peer metadata): from outside the mesh when no client proxy reported calling
    // this workload. (When one did, the rest is retries and clients without proxies, which the
    // client side already shows as the edge's failures.)
    const calledFromMesh = fromClients.some((c) => c.destination.workload === server.destination.workload && c.destination.namespace === server.destination.namespace);
    if (!calledFromMesh) chosen.push(server);
  }
  // mTLS as the server saw it: match the client's flow by workload, else by principal, else all of the server's traffic.
  return chosen.map((flow) => {
    if (flow.reporter === "destination") return flow;
    const sameServer = fromServers.filter((s) => s.destination.workload === flow.destination.workload && s.destination.namespace === flow.destination.namespace);
    const byWorkload = sameServer.filter((s) => s.source.workload === flow.source.workload && s.source.namespace === flow.source.namespace);
    const byPrincipal = flow.source.principal === UNKNOWN ? [] : sameServer.filter((s) => s.source.principal === flow.source.principal);
    const matched = byWorkload.length > 0 ? byWorkload : byPrincipal.length > 0 ? byPrincipal : sameServer;
    const total = matched.reduce((n, s) => n + s.total, 0);
    const mutual = matched.reduce((n, s) => n + s.mutualTls, 0);
    return { ...flow, mutualTls: total > 0 ? (mutual / total) * flow.total : Number.NaN };
  });
}

interface EdgeAccumulator {
  source: string;
  target: string;
  readonly codes: Map<string, number>;
  readonly buckets: Map<number, number>;
  total: number;
  mutualTls: number;
  /** Requests whose mTLS is known. */
  mtlsKnown: number;
}

function workloadNodeId(e: Endpoint): string {
  return e.workload === UNKNOWN ? UNKNOWN : `wl:${e.namespace}/${e.workload}`;
}

export function buildTrafficGraph(window: TrafficWindow, options: GraphOptions = {}): TrafficGraph {
  const seconds = window.windowSeconds > 0 ? window.windowSeconds : 1;
  const flows = chooseFlows(collectFlows(window));
  const namespaces = new Set<string>();
  const filter = new Set(options.namespaces ?? []);
  const nodeInfo = new Map<string, Omit<GraphNode, "health" | "requestsPerSecond" | "errorRate">>();
  const edges = new Map<string, EdgeAccumulator>();
  const addWorkload = (e: Endpoint): string => {
    const id = workloadNodeId(e);
    if (!nodeInfo.has(id)) {
      if (id === UNKNOWN) nodeInfo.set(id, { id, kind: "unknown", namespace: UNKNOWN, name: UNKNOWN, app: UNKNOWN, version: UNKNOWN });
      else {
        const parent = e.app === UNKNOWN ? undefined : `app:${e.namespace}/${e.app}`;
        nodeInfo.set(id, { id, kind: "workload", namespace: e.namespace, name: e.workload, app: e.app, version: e.version, ...(parent !== undefined ? { parent } : {}) });
        if (parent !== undefined && !nodeInfo.has(parent)) nodeInfo.set(parent, { id: parent, kind: "app", namespace: e.namespace, name: e.app, app: e.app, version: "" });
      }
    }
    return id;
  };
  const addEdge = (source: string, target: string, flow: Flow): void => {
    const id = `${source}->${target}`;
    let edge = edges.get(id);
    if (edge === undefined) {
      edge = { source, target, codes: new Map(), buckets: new Map(), total: 0, mutualTls: 0, mtlsKnown: 0 };
      edges.set(id, edge);
    }
    for (const [code, n] of flow.codes) edge.codes.set(code, (edge.codes.get(code) ?? 0) + n);
    for (const [le, n] of flow.buckets) edge.buckets.set(le, (edge.buckets.get(le) ?? 0) + n);
    edge.total += flow.total;
    if (!Number.isNaN(flow.mutualTls)) {
      edge.mutualTls += flow.mutualTls;
      edge.mtlsKnown += flow.total;
    }
  };
  for (const flow of flows) {
    const serviceNs = flow.serviceNamespace;
    for (const ns of [flow.source.namespace, flow.destination.namespace, serviceNs]) if (ns !== UNKNOWN) namespaces.add(ns);
    if (filter.size > 0 && !filter.has(flow.source.namespace) && !filter.has(flow.destination.namespace) && !filter.has(serviceNs)) continue;
    const source = addWorkload(flow.source);
    if (flow.serviceName === UNKNOWN) {
      addEdge(source, addWorkload(flow.destination), flow);
      continue;
    }
    const serviceId = `svc:${serviceNs}/${flow.serviceName}`;
    if (!nodeInfo.has(serviceId)) nodeInfo.set(serviceId, { id: serviceId, kind: "service", namespace: serviceNs, name: flow.serviceName, app: flow.serviceName, version: "" });
    addEdge(source, serviceId, flow);
    if (flow.destination.workload !== UNKNOWN) addEdge(serviceId, addWorkload(flow.destination), flow);
  }
  const outEdges: GraphEdge[] = [];
  const inbound = new Map<string, { total: number; errors: number }>();
  const outbound = new Map<string, { total: number; errors: number }>();
  for (const [id, edge] of edges) {
    let errors = 0;
    for (const [code, n] of edge.codes) if (isErrorCode(code)) errors += n;
    const cumulative: { le: number; count: number }[] = [];
    let running = 0;
    for (const le of [...edge.buckets.keys()].sort((a, b) => a - b)) {
      running = Math.max(running, edge.buckets.get(le) ?? 0);
      cumulative.push({ le, count: running });
    }
    const mtlsShare = edge.mtlsKnown > 0 ? Math.min(1, edge.mutualTls / edge.mtlsKnown) : null;
    outEdges.push({
      id,
      source: edge.source,
      target: edge.target,
      requestsPerSecond: edge.total / seconds,
      errorRate: edge.total > 0 ? errors / edge.total : 0,
      p99Ms: histogramQuantile(0.99, cumulative),
      mtlsShare,
      mtls: mtlsShare !== null && mtlsShare >= 0.999,
      health: healthOf(edge.total, errors),
      responseCodes: Object.fromEntries(edge.codes),
    });
    for (const [map, key] of [[inbound, edge.target], [outbound, edge.source]] as const) {
      const t = map.get(key) ?? { total: 0, errors: 0 };
      t.total += edge.total;
      t.errors += errors;
      map.set(key, t);
    }
  }
  const nodes: GraphNode[] = [];
  for (const info of nodeInfo.values()) {
    if (info.kind === "app") {
      const children = [...nodeInfo.values()].filter((n) => n.parent === info.id);
      const t = children.reduce((acc, c) => ({ total: acc.total + (inbound.get(c.id)?.total ?? 0), errors: acc.errors + (inbound.get(c.id)?.errors ?? 0) }), { total: 0, errors: 0 });
      nodes.push({ ...info, health: healthOf(t.total, t.errors), requestsPerSecond: t.total / seconds, errorRate: t.total > 0 ? t.errors / t.total : 0 });
      continue;
    }
    const t = inbound.get(info.id) ?? outbound.get(info.id) ?? { total: 0, errors: 0 };
    nodes.push({ ...info, health: healthOf(t.total, t.errors), requestsPerSecond: t.total / seconds, errorRate: t.total > 0 ? t.errors / t.total : 0 });
  }
  nodes.sort((a, b) => a.id.localeCompare(b.id));
  outEdges.sort((a, b) => a.id.localeCompare(b.id));
  return { windowSeconds: seconds, nodes, edges: outEdges, namespaces: [...namespaces].sort() };
}
