// GatewayHostMismatch: a VirtualService is bound to a Gateway none of whose servers expose any of the
// VirtualService's hosts (for the VirtualService's namespace), so the gateway never uses its
// routes (istioctl: IST0132). Missing gateways are UnknownGateway's finding.
import type { ConfigIssue } from "../config-issue.ts";
import { makeFinding, q } from "./make-finding.ts";
import { hostsOverlap } from "../rules/host-names.ts";
import type { MeshIndex } from "./mesh-index.ts";
import { resolveGatewayName } from "./resolve-gateway-name.ts";

/** One warning per (VirtualService, bound Gateway) pair with no host in common. */
export function findGatewayHostMismatches(index: MeshIndex): ConfigIssue[] {
  const findings: ConfigIssue[] = [];
  for (const vs of index.list("VirtualService")) {
    const hosts = vs.spec.hosts ?? [];
    if (hosts.length === 0) continue;
    const namespace = index.namespaceOf(vs);
    for (const [i, reference] of (vs.spec.gateways ?? []).entries()) {
      const ref = resolveGatewayName(reference, namespace);
      if (ref.mesh) continue;
      const gateway = index.find("Gateway", ref.namespace, ref.name);
      if (!gateway) continue;
      const exposed = gateway.spec.servers.flatMap((server) => server.hosts.flatMap((h) => visibleHost(h, ref.namespace, namespace)));
      if (hosts.some((h) => exposed.some((g) => hostsOverlap(g, h)))) continue;
      findings.push(
        makeFinding(
          "GatewayHostMismatch",
          { resource: vs, namespace, path: ["spec", "gateways", i] },
          {
            message: `gateway ${q(reference)} exposes ${exposed.length > 0 ? exposed.map(q).join(", ") : "no host"} to namespace ${q(namespace)}, none of the hosts ${hosts.map(q).join(", ")}; the gateway ignores these routes`,
            hint: `add a host the gateway serves to spec.hosts, or add ${q(hosts[0] as string)} to the hosts of Gateway ${ref.namespace}/${ref.name}`,
          },
        ),
      );
    }
  }
  return findings;
}

/** The DNS part of a server host `[namespace/]dnsName`, if VirtualServices of `namespace` may use it. */
function visibleHost(host: string, gatewayNamespace: string, namespace: string): string[] {
  const slash = host.indexOf("/");
  if (slash < 0) return [host];
  const ns = host.slice(0, slash);
  const visible = ns === "*" || ns === namespace || (ns === "." && gatewayNamespace === namespace);
  return visible ? [host.slice(slash + 1)] : [];
}
