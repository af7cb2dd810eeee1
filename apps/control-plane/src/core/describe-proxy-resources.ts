// One line per pushed resource, for tests' golden files and the admin pages: what a proxy was
// given, short enough to read for a whole mesh.
import type { NamedResource, ProxyResources } from "@meshwork/proxy-core";

/** Lines describing `resources` in push order (clusters, endpoints, listeners, routes, trust bundles). */
export function describeProxyResources(resources: ProxyResources): string[] {
  const lines: string[] = [];
  for (const { name, body } of resources.cluster) {
    const policy = [`lb=${body.balancer.type}`, body.subset === undefined ? "" : `subset=${body.subset}(${pairs(body.subsetLabels)})`, body.tls ? `tls=${body.tls.mode}` : "", body.outlier ? "outlier" : "", body.destinationRules.length > 0 ? `dr=${body.destinationRules.join(",")}` : ""];
    lines.push(`cluster ${name} ${body.protocol} ${body.discovery} ${policy.filter((p) => p !== "").join(" ")}`.trimEnd());
  }
  for (const { name, body } of resources.endpoints) {
    lines.push(`endpoints ${name} [${body.endpoints.map((e) => `${e.address}${Object.keys(e.labels).length > 0 ? `(${pairs(e.labels)})` : ""}`).join(" ")}]`);
  }
  for (const resource of resources.listener) lines.push(describeListener(resource));
  for (const { name, body } of resources.routeTable) {
    const vs = body.virtualServices.map((v) => `${v.metadata.namespace}/${v.metadata.name}`).join(",");
    const dr = body.destinationRules.map((d) => `${d.metadata.namespace ?? "?"}/${d.metadata.name}`).join(",");
    lines.push(`routes ${name} gateway=${body.gateway} vs=[${vs}] dr=[${dr}]`);
  }
  for (const { name, body } of resources.trustBundle) lines.push(`trust-bundle ${name} roots=${body.rootsPem.length}`);
  return lines;
}

function describeListener({ name, body }: NamedResource<"listener">): string {
  if (body.type === "outbound") {
    const egressPorts = body.egressListenerPorts === undefined ? "" : ` egress-ports=[${body.egressListenerPorts.join(" ")}]`;
    const explicit = body.egressListeners === undefined ? "" : ` egress-listeners=[${body.egressListeners.map((l) => `${l.bind}:${l.port}${l.protocol === undefined ? "" : `/${l.protocol}`}`).join(" ")}]`;
    return `listener ${name} policy=${body.outboundTrafficPolicy}${egressPorts}${explicit} services=[${body.services.map((s) => `${s.host}:${s.port}`).join(" ")}]`;
  }
  // Sidecar ingress listeners' own endpoint, TLS and limits, only where set.
  const ports = body.ports
    .map((p) => `${p.port}->${p.endpointHost === undefined ? "" : `${p.endpointHost}:`}${p.targetPort}/${p.protocol}${p.tls === undefined ? "" : `+tls=${p.tls.mode}`}${p.connectionPool === undefined ? "" : `+pool=${JSON.stringify(p.connectionPool)}`}`)
    .join(" ");
  const names = (list: readonly { metadata: { namespace?: string | undefined; name: string } }[]) => list.map((r) => `${r.metadata.namespace ?? "?"}/${r.metadata.name}`).join(",");
  const s = body.security;
  return `listener ${name} ports=[${ports}] peer=[${names(s.peerAuthentications)}] authz=[${names(s.authorizationPolicies)}] jwt=[${names(s.requestAuthentications)}] ratelimit=[${names(body.rateLimitPolicies)}]`;
}

function pairs(labels: Readonly<Record<string, string>>): string {
  return Object.keys(labels)
    .sort()
    .map((k) => `${k}=${labels[k]}`)
    .join(",");
}
