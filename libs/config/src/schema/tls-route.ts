// Schema of the Kubernetes Gateway API `TLSRoute` (gateway.networking.k8s.io v1alpha2 and
// v1alpha3, the experimental channel): TLS connections a Passthrough listener accepts go, by the
// ClientHello's SNI, to weighted Services without being decrypted. One schema serves both
// versions; what v1alpha3 tightened (hostnames required, one rule) is checked in tls-route-rules.ts.
import { Type } from "@sinclair/typebox";
import { closed, HintKeyword, type Decoded } from "./common.ts";
import { ParentReference } from "./http-route.ts";
import { BackendRef } from "./tcp-route.ts";

/** `TLSRouteRule`. */
export const TLSRouteRule = closed(
  {
    name: Type.Optional(Type.String({ description: "Name of the rule." })),
    backendRefs: Type.Array(BackendRef, { minItems: 1, maxItems: 16, description: "Weighted Services to forward connections to; they terminate the TLS.", [HintKeyword]: "list 1 to 16 backends, e.g. backendRefs: [{name: <Service>, port: <port>}]" }),
  },
  { description: "The backends of one rule of a TLSRoute." },
);
export type TLSRouteRule = Decoded<typeof TLSRouteRule>;

/** Gateway API `TLSRoute` spec. */
export const TLSRouteSpec = closed(
  {
    parentRefs: Type.Optional(Type.Array(ParentReference, { maxItems: 32, description: "Gateways (TLS listeners in Passthrough mode) the route attaches to." })),
    hostnames: Type.Optional(
      Type.Array(Type.String({ minLength: 1, maxLength: 253 }), {
        maxItems: 16,
        description: "SNI names the route serves (`*.` prefix allowed); every name the listener accepts when unset (v1alpha2; v1alpha3 requires at least one).",
      }),
    ),
    rules: Type.Array(TLSRouteRule, { minItems: 1, maxItems: 16, description: "The rules; a connection takes the first one (v1alpha3 allows one).", [HintKeyword]: "write 1 to 16 rules (one in v1alpha3), e.g. rules: [{backendRefs: [{name: <Service>, port: <port>}]}]" }),
  },
  { description: "TLS passthrough routing (Kubernetes Gateway API): where TLS connections for some SNI names go, undecrypted." },
);
export type TLSRouteSpec = Decoded<typeof TLSRouteSpec>;
