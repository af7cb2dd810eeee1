// PortNotFound: a destination names a port the service does not expose (catalog ports, or the
// ServiceEntry's ports), so Envoy has no cluster for it and answers 503 (istioctl: IST0101
// host:port). A DestinationRule port-level setting for such a port never applies (warning).
// Services whose ports are unknown (a catalog entry without ports) are not checked.
import type { ConfigIssue } from "../config-issue.ts";
import { makeFinding, q } from "./make-finding.ts";
import type { MeshIndex, ServicePortInfo, ServiceTarget } from "./mesh-index.ts";

/** Destinations and DestinationRule port settings naming a port their service lacks. */
export function findUnknownPorts(index: MeshIndex): ConfigIssue[] {
  const findings: ConfigIssue[] = [];
  for (const vs of index.list("VirtualService")) {
    const namespace = index.namespaceOf(vs);
    for (const use of index.destinationsOf(vs)) {
      const port = use.destination.port?.number;
      if (port === undefined) continue;
      const target = index.findService(use.destination.host, namespace);
      const ports = target?.ports;
      if (!target || !ports || ports.length === 0 || ports.some((p) => p.number === port)) continue;
      findings.push(
        makeFinding(
          "PortNotFound",
          { resource: vs, namespace, path: [...use.path, "port", "number"] },
          {
            message: `port ${port} is not a port of ${describeTarget(target)}, which exposes ${describePorts(ports)}`,
            hint: ports.length === 1 ? `use port ${ports[0]?.number}` : `use one of ${ports.map((p) => p.number).join(", ")}`,
          },
        ),
      );
    }
  }
  for (const dr of index.list("DestinationRule")) {
    const namespace = index.namespaceOf(dr);
    const target = index.findService(dr.spec.host, namespace);
    const ports = target?.ports;
    if (!target || !ports || ports.length === 0) continue;
    const policies = [
      { policy: dr.spec.trafficPolicy, path: ["spec", "trafficPolicy"] },
      ...(dr.spec.subsets ?? []).map((s, i) => ({ policy: s.trafficPolicy, path: ["spec", "subsets", i, "trafficPolicy"] })),
    ];
    for (const { policy, path } of policies) {
      for (const [i, setting] of (policy?.portLevelSettings ?? []).entries()) {
        const port = setting.port?.number;
        if (port === undefined || ports.some((p) => p.number === port)) continue;
        findings.push(
          makeFinding(
            "PortNotFound",
            { resource: dr, namespace, path: [...path, "portLevelSettings", i, "port", "number"] },
            {
              message: `port ${port} is not a port of ${describeTarget(target)}, which exposes ${describePorts(ports)}, so this port-level setting never applies`,
              hint: `use one of ${ports.map((p) => p.number).join(", ")}`,
              severity: "warning",
            },
          ),
        );
      }
    }
  }
  return findings;
}

export function describeTarget(target: ServiceTarget): string {
  return target.kind === "catalog" ? `service ${q(target.host)}` : `ServiceEntry ${target.namespace}/${target.resource.metadata.name} (${q(target.host)})`;
}

export function describePorts(ports: readonly ServicePortInfo[]): string {
  return ports.map((p) => (p.name ? `${p.number} (${p.name})` : String(p.number))).join(", ");
}
