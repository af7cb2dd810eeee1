// Reads a gateway reference of a VirtualService the way Istio does: `mesh` (the sidecars),
// `namespace/name`, `./name`, a bare `name` (the VirtualService's namespace), or the legacy
// `name.namespace[.svc.cluster.local]` form.

/** The gateway a reference names: "mesh", or the Gateway resource's namespace and name. */
export type GatewayRef = { readonly mesh: true } | { readonly mesh: false; readonly namespace: string; readonly name: string };

/** Resolves `reference`, written in a VirtualService of `namespace`. */
export function resolveGatewayName(reference: string, namespace: string): GatewayRef {
  if (reference === "mesh") return { mesh: true };
  const slash = reference.indexOf("/");
  if (slash >= 0) {
    const ns = reference.slice(0, slash);
    return { mesh: false, namespace: ns === "." ? namespace : ns, name: reference.slice(slash + 1) };
  }
  const dot = reference.indexOf(".");
  if (dot < 0) return { mesh: false, namespace, name: reference };
  const rest = reference.slice(dot + 1);
  const next = rest.indexOf(".");
  return { mesh: false, namespace: next < 0 ? rest : rest.slice(0, next), name: reference.slice(0, dot) };
}

/** `ns/name` or `mesh`, a stable key for maps and messages. */
export function gatewayKey(ref: GatewayRef): string {
  return ref.mesh ? "mesh" : `${ref.namespace}/${ref.name}`;
}
