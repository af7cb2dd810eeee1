// ConflictingGateway: two Gateways with the same selector (so the same gateway pods) open the same
// port for the same host. Istio merges their servers; for TLS the second certificate for a name is
// dropped, for HTTP the routes of both meet in one virtual host in no defined order
// (istioctl: IST0145). Only identical hosts are compared, so wildcard overlaps (which Envoy
// resolves by specificity) are not reported.
import type { ConfigIssue } from "../config-issue.ts";
import type { FieldPath } from "../field-issue.ts";
import type { MeshResource } from "../load-resources.ts";
import { addToGroup } from "./add-to-group.ts";
import { formatLabels, makeFinding, q, qualifiedName } from "./make-finding.ts";
import type { MeshIndex } from "./mesh-index.ts";
import { selectorKey } from "./selector-key.ts";

interface ServerHost {
  readonly gateway: MeshResource<"Gateway">;
  readonly namespace: string;
  readonly path: FieldPath;
}

/** One warning per server host that another Gateway with the same selector also opens on the port. */
export function findConflictingGateways(index: MeshIndex): ConfigIssue[] {
  const groups = new Map<string, ServerHost[]>();
  for (const gateway of index.list("Gateway")) {
    const selector = gateway.spec.selector ?? {};
    if (Object.keys(selector).length === 0) continue;
    const namespace = index.namespaceOf(gateway);
    const workloads = selectorKey(selector);
    for (const [i, server] of gateway.spec.servers.entries()) {
      for (const [j, host] of server.hosts.entries()) {
        const dns = host.includes("/") ? host.slice(host.indexOf("/") + 1) : host;
        const key = `${workloads}|${server.port.number}|${dns}`;
        addToGroup(groups, key, { gateway, namespace, path: ["spec", "servers", i, "hosts", j] });
      }
    }
  }
  const findings: ConfigIssue[] = [];
  for (const [key, list] of groups) {
    const distinct = new Set(list.map((e) => e.gateway));
    if (distinct.size < 2) continue;
    const [, port, host] = key.split("|");
    for (const entry of list) {
      const others = [...distinct].filter((g) => g !== entry.gateway).map((g) => `Gateway ${qualifiedName(g, index.namespaceOf(g))}`);
      findings.push(
        makeFinding(
          "ConflictingGateway",
          { resource: entry.gateway, namespace: entry.namespace, path: entry.path },
          {
            message: `host ${q(host ?? "")} on port ${port} is also opened by ${others.join(", ")} for the same gateway pods (selector ${formatLabels(entry.gateway.spec.selector ?? {})})`,
            hint: "serve each host and port from one Gateway, and bind all VirtualServices for it to that Gateway",
          },
        ),
      );
    }
  }
  return findings;
}
