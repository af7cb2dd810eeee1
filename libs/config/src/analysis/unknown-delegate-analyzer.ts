// UnknownDelegate: an HTTP route delegates to a VirtualService Istio cannot use as a delegate — it
// does not exist, it has hosts (then it is a root, not a delegate), or its exportTo hides it from the
// delegating VirtualService's namespace. Istio then drops the route's requests (404).
import type { ConfigIssue } from "../config-issue.ts";
import { closestName } from "../closest-name.ts";
import { makeFinding, q } from "./make-finding.ts";
import { isExportedTo, type MeshIndex } from "./mesh-index.ts";

/** One error per `delegate` that names no usable delegate VirtualService. */
export function findUnknownDelegates(index: MeshIndex): ConfigIssue[] {
  const findings: ConfigIssue[] = [];
  for (const vs of index.list("VirtualService")) {
    const namespace = index.namespaceOf(vs);
    for (const [i, route] of (vs.spec.http ?? []).entries()) {
      const delegate = route.delegate;
      if (!delegate?.name) continue;
      const ns = delegate.namespace ?? namespace;
      const ref = `${ns}/${delegate.name}`;
      const target = index.find("VirtualService", ns, delegate.name);
      const path = ["spec", "http", i, "delegate", "name"];
      const at = { resource: vs, namespace, path };
      if (!target) {
        const delegates = index.list("VirtualService").filter((c) => index.namespaceOf(c) === ns && (c.spec.hosts ?? []).length === 0);
        const near = closestName(delegate.name, delegates.map((c) => c.metadata.name));
        findings.push(
          makeFinding("UnknownDelegate", at, {
            message: `delegate VirtualService ${q(ref)} does not exist`,
            hint: near ? `did you mean ${q(near)}?` : `create VirtualService ${ref} (without hosts) holding the routes, or route to destinations here`,
          }),
        );
      } else if ((target.spec.hosts ?? []).length > 0) {
        findings.push(
          makeFinding("UnknownDelegate", at, {
            message: `VirtualService ${q(ref)} has hosts, so it is not a delegate and Istio ignores the delegation`,
            hint: `remove the hosts of ${ref} to make it a delegate, or delegate to another VirtualService`,
          }),
        );
      } else if (!isExportedTo(target.spec.exportTo, ns, namespace)) {
        findings.push(
          makeFinding("UnknownDelegate", at, {
            message: `delegate VirtualService ${q(ref)} is not exported to namespace ${q(namespace)} (exportTo: ${(target.spec.exportTo ?? []).join(", ")})`,
            hint: `add ${q(namespace)} to the exportTo of ${ref}`,
          }),
        );
      }
    }
  }
  return findings;
}
