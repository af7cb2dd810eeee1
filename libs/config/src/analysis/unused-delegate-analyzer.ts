// UnusedDelegate: a VirtualService without hosts is a delegate — its routes only take effect through
// a route of another VirtualService that delegates to it. When none does, it has no effect at all
// (most often the hosts were forgotten).
import type { ConfigIssue } from "../config-issue.ts";
import { makeFinding } from "./make-finding.ts";
import type { MeshIndex } from "./mesh-index.ts";

/** One warning per host-less VirtualService no route delegates to. */
export function findUnusedDelegates(index: MeshIndex): ConfigIssue[] {
  const findings: ConfigIssue[] = [];
  for (const vs of index.list("VirtualService")) {
    if ((vs.spec.hosts ?? []).length > 0) continue;
    const namespace = index.namespaceOf(vs);
    if (index.delegateTargets.has(`${namespace}/${vs.metadata.name}`)) continue;
    findings.push(
      makeFinding(
        "UnusedDelegate",
        { resource: vs, namespace, path: ["spec"] },
        {
          message: `it has no hosts, so it is a delegate, but no route delegates to ${namespace}/${vs.metadata.name}; its routes apply nowhere`,
          hint: `add hosts to it, or delegate to it from a route of the root VirtualService: delegate: {name: ${vs.metadata.name}, namespace: ${namespace}}`,
        },
      ),
    );
  }
  return findings;
}
