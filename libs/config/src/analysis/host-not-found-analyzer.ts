// HostNotFound (needs a catalog): a route sends traffic to a host that is neither a service of the
// catalog nor a ServiceEntry host (exact or wildcard; WorkloadEntry-backed ServiceEntries are
// ServiceEntries too). Envoy has no cluster for it and answers 503 (istioctl: IST0101). A
// DestinationRule for such a host applies to nothing; that is reported as a warning.
import { closestName } from "../closest-name.ts";
import type { ConfigIssue } from "../config-issue.ts";
import { makeFinding, q } from "./make-finding.ts";
import type { MeshIndex } from "./mesh-index.ts";

/** Destinations and DestinationRule hosts that name no known service; nothing without a catalog. */
export function findUnknownHosts(index: MeshIndex): ConfigIssue[] {
  const catalog = index.catalog;
  if (!catalog) return [];
  let known: string[] | undefined; // built on the first miss only
  const suggest = (resolved: string): string => {
    known ??= [
      ...catalog.services.map((s) => s.hostname ?? `${s.name}.${s.namespace}.svc.${index.domainSuffix}`),
      ...index.list("ServiceEntry").flatMap((se) => se.spec.hosts),
    ];
    // Only names of about the same length can be typos of it: keeps a miss cheap in a large mesh.
    const limit = Math.max(1, Math.floor(resolved.length / 3));
    const near = closestName(resolved, known.filter((k) => Math.abs(k.length - resolved.length) <= limit));
    return near ? `did you mean ${q(near)}?` : "add the service to the registry, or declare the host with a ServiceEntry";
  };
  const findings: ConfigIssue[] = [];

  for (const vs of index.list("VirtualService")) {
    const namespace = index.namespaceOf(vs);
    for (const use of index.destinationsOf(vs)) {
      const { host } = use.destination;
      if (index.findService(host, namespace)) continue;
      const resolved = index.candidates(host, namespace)[0] ?? host;
      const what = use.isMirror ? "mirror host" : "host";
      findings.push(
        makeFinding(
          "HostNotFound",
          { resource: vs, namespace, path: [...use.path, "host"] },
          {
            message: `${what} ${q(host)}${resolved !== host ? ` (${q(resolved)})` : ""} is not a service in the catalog nor a ServiceEntry host`,
            hint: suggest(resolved),
          },
        ),
      );
    }
  }

  for (const dr of index.list("DestinationRule")) {
    const namespace = index.namespaceOf(dr);
    const { host } = dr.spec;
    if (host.startsWith("*") || index.findService(host, namespace)) continue;
    const resolved = index.candidates(host, namespace)[0] ?? host;
    findings.push(
      makeFinding(
        "HostNotFound",
        { resource: dr, namespace, path: ["spec", "host"] },
        {
          message: `host ${q(host)}${resolved !== host ? ` (${q(resolved)})` : ""} is not a service in the catalog nor a ServiceEntry host, so the rule applies to nothing`,
          hint: suggest(resolved),
          severity: "warning",
        },
      ),
    );
  }
  return findings;
}
