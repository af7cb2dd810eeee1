// The mutual-TLS mode a workload's sidecar accepts on its inbound ports, from Istio's
// PeerAuthentication policies: one policy per scope (mesh = root namespace without a selector,
// namespace = no selector, workload = a selector matching the workload's labels), UNSET inheriting
// from the enclosing scope, portLevelMtls overriding per workload port, PERMISSIVE when nothing
// says otherwise. Follows istio/istio pilot/pkg/security/authn ComposePeerAuthentication.
import type { MeshResource } from "@meshwork/config";

/** What an inbound port accepts: mutual TLS only, both mutual TLS and plaintext, or plaintext only. */
export type MtlsMode = "STRICT" | "PERMISSIVE" | "DISABLE";

/** The effective PeerAuthentication of one workload. */
export interface EffectivePeerAuthentication {
  /** The mode of every port without a port-level setting. */
  readonly mode: MtlsMode;
  /** Port-level modes by workload (target) port, UNSET already replaced by `mode`. */
  readonly perPort: ReadonlyMap<number, MtlsMode>;
  /** `namespace/name` of the policy chosen per scope (undefined: none), for admin pages and logs. */
  readonly mesh: string | undefined;
  readonly namespace: string | undefined;
  readonly workload: string | undefined;
}

/** The workload a policy set is resolved for. */
export interface PeerAuthenticationTarget {
  readonly namespace: string;
  readonly labels: Readonly<Record<string, string>>;
}

type PeerAuthentication = MeshResource<"PeerAuthentication">;
type ModeSpec = { readonly mode?: string | undefined } | undefined;

/**
 * Resolves `policies` (any namespaces; those outside the workload's namespace and the root
 * namespace are ignored) for `workload`. Istio picks the oldest policy of a scope when several
 * exist; resources carry no creation time here, so the first in input order stands for the oldest
 * (config files are read in name order). A policy with a selector in the root namespace applies to
 * nothing, as in Istio.
 */
export function resolvePeerAuthentication(
  policies: readonly PeerAuthentication[],
  workload: PeerAuthenticationTarget,
  rootNamespace: string,
): EffectivePeerAuthentication {
  let mesh: PeerAuthentication | undefined;
  let namespace: PeerAuthentication | undefined;
  let selected: PeerAuthentication | undefined;
  for (const policy of policies) {
    const ns = policy.metadata.namespace ?? workload.namespace;
    if (ns !== workload.namespace && ns !== rootNamespace) continue;
    const selector = policy.spec.selector?.matchLabels ?? {};
    const hasSelector = Object.keys(selector).length > 0;
    if (!hasSelector) {
      if (ns === rootNamespace) mesh ??= policy;
      else namespace ??= policy;
    } else if (ns !== rootNamespace && ns === workload.namespace && matches(selector, workload.labels)) {
      selected ??= policy;
    }
  }
  let mode: MtlsMode | undefined;
  for (const policy of [mesh, namespace, selected]) {
    const set = modeOf(policy?.spec.mtls);
    if (set !== undefined) mode = set;
  }
  const effective: MtlsMode = mode ?? "PERMISSIVE";
  const perPort = new Map<number, MtlsMode>();
  for (const [port, spec] of Object.entries(selected?.spec.portLevelMtls ?? {})) {
    perPort.set(Number(port), modeOf(spec) ?? effective);
  }
  return { mode: effective, perPort, mesh: nameOf(mesh, rootNamespace), namespace: nameOf(namespace, workload.namespace), workload: nameOf(selected, workload.namespace) };
}

/** The mode of workload port `port` (the container port, as portLevelMtls keys it). */
export function mtlsModeForPort(effective: EffectivePeerAuthentication, port: number): MtlsMode {
  return effective.perPort.get(port) ?? effective.mode;
}

function modeOf(spec: ModeSpec): MtlsMode | undefined {
  const mode = spec?.mode;
  return mode === "STRICT" || mode === "PERMISSIVE" || mode === "DISABLE" ? mode : undefined;
}

function matches(selector: Readonly<Record<string, string>>, labels: Readonly<Record<string, string>>): boolean {
  for (const [key, value] of Object.entries(selector)) if (labels[key] !== value) return false;
  return true;
}

function nameOf(policy: PeerAuthentication | undefined, fallbackNamespace: string): string | undefined {
  return policy ? `${policy.metadata.namespace ?? fallbackNamespace}/${policy.metadata.name}` : undefined;
}
