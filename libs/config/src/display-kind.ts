// How messages name a kind to users. Meshwork's name for the Gateway API's `Gateway` is
// `KubernetesGateway` (as Istio's), so it can sit beside Istio's Gateway; users never wrote that
// name, so messages say which Gateway they mean instead. No imports: the sidecar's start loads it.

/** `Gateway (gateway.networking.k8s.io)` for Meshwork's `KubernetesGateway`; any other kind as it is. */
export function displayKind(kind: string): string {
  return kind === "KubernetesGateway" ? "Gateway (gateway.networking.k8s.io)" : kind;
}
