// MtlsConflict: a DestinationRule turns TLS off (tls.mode DISABLE) towards a service whose workloads a
// PeerAuthentication makes STRICT, so they refuse the plaintext connections (istioctl: IST0113).
// The workloads' mode is resolved as Istio does: a workload policy (selector) over the namespace
// policy over the mesh policy (root namespace), UNSET inheriting, PERMISSIVE when none applies.
// Without a catalog (or instances), the namespace and mesh policies of the service's namespace decide.
import type { ConfigIssue } from "../config-issue.ts";
import type { FieldPath } from "../field-issue.ts";
import type { MeshResource } from "../load-resources.ts";
import type { TrafficPolicy } from "../schema/destination-rule.ts";
import type { MutualTLSMode } from "../schema/peer-authentication.ts";
import { addToGroup } from "./add-to-group.ts";
import { hasWorkloadSelector } from "./conflicting-peer-authentication-analyzer.ts";
import { makeFinding, q, qualifiedName } from "./make-finding.ts";
import { labelsMatch, namespaceOfServiceHost, rootNamespace, type MeshIndex } from "./mesh-index.ts";

type PeerAuthentication = MeshResource<"PeerAuthentication">;

interface Disable {
  readonly path: FieldPath;
  readonly port: number | undefined;
  /** Subset labels narrowing the workloads, if the setting belongs to a subset. */
  readonly subsetLabels: Readonly<Record<string, string>> | undefined;
}

/** One warning per DISABLE setting aimed at STRICT workloads. */
export function findMtlsConflicts(index: MeshIndex): ConfigIssue[] {
  const policies = indexPolicies(index);
  const findings: ConfigIssue[] = [];
  for (const dr of index.list("DestinationRule")) {
    const namespace = index.namespaceOf(dr);
    const disables = listDisables(dr);
    if (disables.length === 0) continue;
    const target = index.findService(dr.spec.host, namespace);
    if (target?.kind === "ServiceEntry") continue; // external services have no PeerAuthentication
    const host = target?.host ?? index.candidates(dr.spec.host, namespace)[0] ?? dr.spec.host;
    const serviceNamespace = target?.namespace ?? namespaceOfServiceHost(host, index.domainSuffix);
    if (serviceNamespace === undefined) continue;
    const instances = target?.kind === "catalog" ? target.service.instances : undefined;

    for (const disable of disables) {
      let strict: PeerAuthentication | undefined;
      if (instances && instances.length > 0) {
        for (const instance of instances) {
          if (disable.subsetLabels && !labelsMatch(disable.subsetLabels, instance.labels)) continue;
          const decided = policies.modeOf(serviceNamespace, instance.labels, disable.port);
          if (decided.mode === "STRICT") {
            strict = decided.policy;
            break;
          }
        }
      } else {
        const decided = policies.modeOf(serviceNamespace, undefined, disable.port);
        if (decided.mode === "STRICT") strict = decided.policy;
      }
      if (!strict) continue;
      const pa = `PeerAuthentication ${qualifiedName(strict, index.namespaceOf(strict))}`;
      findings.push(
        makeFinding(
          "MtlsConflict",
          { resource: dr, namespace, path: disable.path },
          {
            message: `tls mode DISABLE sends plaintext to ${q(host)}${disable.port !== undefined ? ` port ${disable.port}` : ""}, but ${pa} makes its workloads STRICT (mutual TLS only), so they refuse the connections`,
            hint: `use tls mode ISTIO_MUTUAL (or drop the tls setting and let Istio choose), or set ${pa} to PERMISSIVE`,
          },
        ),
      );
    }
  }
  return findings;
}

function listDisables(dr: MeshResource<"DestinationRule">): Disable[] {
  const disables: Disable[] = [];
  const scan = (policy: TrafficPolicy | undefined, path: FieldPath, subsetLabels: Readonly<Record<string, string>> | undefined): void => {
    if (policy?.tls?.mode === "DISABLE") disables.push({ path: [...path, "tls", "mode"], port: undefined, subsetLabels });
    for (const [i, setting] of (policy?.portLevelSettings ?? []).entries()) {
      if (setting.tls?.mode === "DISABLE") {
        disables.push({ path: [...path, "portLevelSettings", i, "tls", "mode"], port: setting.port?.number, subsetLabels });
      }
    }
  };
  scan(dr.spec.trafficPolicy, ["spec", "trafficPolicy"], undefined);
  for (const [i, subset] of (dr.spec.subsets ?? []).entries()) scan(subset.trafficPolicy, ["spec", "subsets", i, "trafficPolicy"], subset.labels ?? {});
  return disables;
}

interface Decided {
  readonly mode: MutualTLSMode;
  readonly policy: PeerAuthentication | undefined;
}

/** The PeerAuthentications by scope, and the mode they give a workload (or a namespace). */
function indexPolicies(index: MeshIndex): { modeOf(namespace: string, labels: Readonly<Record<string, string>> | undefined, port: number | undefined): Decided } {
  const wide = new Map<string, PeerAuthentication>();
  const selective = new Map<string, PeerAuthentication[]>();
  for (const pa of index.list("PeerAuthentication")) {
    const ns = index.namespaceOf(pa);
    if (hasWorkloadSelector(pa)) {
      addToGroup(selective, ns, pa);
    } else if (!wide.has(ns)) {
      wide.set(ns, pa); // Istio keeps the oldest; input order stands in for age
    }
  }
  const set = (mode: MutualTLSMode | undefined): mode is Exclude<MutualTLSMode, "UNSET"> => mode !== undefined && mode !== "UNSET";
  return {
    modeOf(namespace, labels, port) {
      if (labels) {
        const pa = selective.get(namespace)?.find((p) => labelsMatch(p.spec.selector?.matchLabels ?? {}, labels));
        if (pa) {
          const portModes = Object.values(pa.spec.portLevelMtls ?? {}).map((m) => m.mode);
          const portMode = port !== undefined ? pa.spec.portLevelMtls?.[String(port)]?.mode : undefined;
          if (set(portMode)) return { mode: portMode, policy: pa };
          // A port-level exception we cannot map to the service port: do not claim a conflict.
          if (port === undefined && portModes.some((m) => set(m) && m !== "STRICT")) return { mode: "PERMISSIVE", policy: pa };
          if (set(pa.spec.mtls?.mode)) return { mode: pa.spec.mtls.mode, policy: pa };
        }
      }
      for (const ns of [namespace, rootNamespace]) {
        const pa = wide.get(ns);
        if (pa && set(pa.spec.mtls?.mode)) return { mode: pa.spec.mtls.mode, policy: pa };
      }
      return { mode: "PERMISSIVE", policy: undefined };
    },
  };
}
