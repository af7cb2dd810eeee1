// PortRequired: a VirtualService bound to a Gateway routes to a service with several ports without
// naming one. A sidecar picks the port the client called, but a gateway uses its own listener port
// (e.g. 80), which is rarely a port of the service: requests fail (istioctl: IST0112).
import type { ConfigIssue } from "../config-issue.ts";
import { makeFinding } from "./make-finding.ts";
import type { MeshIndex } from "./mesh-index.ts";
import { describePorts, describeTarget } from "./port-not-found-analyzer.ts";

/** One warning per gateway route destination without port whose service has several ports. */
export function findMissingPorts(index: MeshIndex): ConfigIssue[] {
  const findings: ConfigIssue[] = [];
  for (const vs of index.list("VirtualService")) {
    const gateways = vs.spec.gateways ?? [];
    if (!gateways.some((g) => g !== "mesh")) continue;
    const namespace = index.namespaceOf(vs);
    for (const use of index.destinationsOf(vs)) {
      if (use.destination.port?.number !== undefined) continue;
      const target = index.findService(use.destination.host, namespace);
      const ports = target?.ports ?? [];
      if (!target || ports.length < 2) continue;
      findings.push(
        makeFinding(
          "PortRequired",
          { resource: vs, namespace, path: [...use.path, "host"] },
          {
            message: `${describeTarget(target)} exposes several ports (${describePorts(ports)}) and the destination names none; on a gateway the listener's port is used`,
            hint: `add port: {number: ${ports[0]?.number}} (or the port meant) to the destination`,
          },
        ),
      );
    }
  }
  return findings;
}
