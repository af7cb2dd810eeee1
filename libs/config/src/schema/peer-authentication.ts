// Schema of Istio's PeerAuthentication (security.istio.io v1 and v1beta1): which mutual-TLS mode
// a workload's sidecar accepts on inbound connections, for the mesh, a namespace or a workload.
// Field list: istio/api security/v1beta1/peer_authentication.proto.
import { Type } from "@sinclair/typebox";
import { closed, stringEnum, WorkloadSelector, type Decoded } from "./common.ts";

/** `PeerAuthentication.MutualTLS.Mode`, in the order Istio declares it. */
export const MutualTLSMode = stringEnum(["UNSET", "DISABLE", "PERMISSIVE", "STRICT"], {
  description:
    "UNSET inherits the mode of the enclosing scope (workload → namespace → mesh; PERMISSIVE at the root). " +
    "DISABLE accepts plaintext only. PERMISSIVE accepts both mutual TLS and plaintext. STRICT accepts mutual TLS only.",
});
export type MutualTLSMode = Decoded<typeof MutualTLSMode>;

/** `PeerAuthentication.MutualTLS`. */
export const MutualTLS = closed(
  { mode: Type.Optional(MutualTLSMode) },
  { description: "Mutual TLS settings: the mode in which inbound connections are accepted." },
);
export type MutualTLS = Decoded<typeof MutualTLS>;

/**
 * Keys of `portLevelMtls`: a port number written as a map key (YAML `80:` arrives as "80").
 * Only the shape is checked here; checkPeerAuthentication reports ports outside 1..65535.
 */
const PortKey = Type.String({ pattern: "^[0-9]+$", description: "A port number, e.g. 8080." });

/** `istio.security.v1beta1.PeerAuthentication` spec. */
export const PeerAuthenticationSpec = closed(
  {
    selector: Type.Optional(WorkloadSelector),
    mtls: Type.Optional(MutualTLS),
    portLevelMtls: Type.Optional(
      Type.Record(PortKey, MutualTLS, {
        description:
          "Mutual TLS settings per workload port (the container's port, not the Service port), overriding mtls on that port. " +
          "Needs a selector with labels: mesh- and namespace-wide policies cannot set ports.",
      }),
    ),
  },
  {
    description:
      "Which kind of traffic (mutual TLS or plaintext) the selected workloads accept. " +
      "In the root namespace without a selector it applies to the mesh, elsewhere without a selector to its namespace, " +
      "with a selector to the matching workloads of its namespace.",
  },
);
export type PeerAuthenticationSpec = Decoded<typeof PeerAuthenticationSpec>;
