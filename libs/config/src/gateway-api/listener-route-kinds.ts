// Which route kinds a Gateway API listener can take, by its protocol (Istio's defaults: HTTP and
// HTTPS take HTTPRoute and GRPCRoute, TLS in Passthrough mode TLSRoute, TCP TCPRoute). Shared by
// the Gateway's checks and the conversion; no imports, as the sidecar's start loads it.

/** The route kinds a listener of `protocol` takes when allowedRoutes.kinds is unset; none for a protocol Meshwork does not serve. */
export function listenerRouteKinds(protocol: string): readonly string[] {
  switch (protocol) {
    case "HTTP":
    case "HTTPS":
      return ["HTTPRoute", "GRPCRoute"];
    case "TLS":
      return ["TLSRoute"];
    case "TCP":
      return ["TCPRoute"];
    default:
      return [];
  }
}
