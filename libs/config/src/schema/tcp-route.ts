// Schema of the Kubernetes Gateway API `TCPRoute` (gateway.networking.k8s.io v1alpha2, the
// experimental channel): every connection a TCP listener accepts goes to weighted Services.
// Parent references and backends are HTTPRoute's (apis/v1alpha2 tcproute_types.go reuses them).
import { Type } from "@sinclair/typebox";
import { closed, HintKeyword, type Decoded } from "./common.ts";
import { BackendObjectReference, HTTPBackendRef, ParentReference } from "./http-route.ts";

/** `BackendRef`: a weighted Service without filters (TCPRoute's and TLSRoute's backends). */
export const BackendRef = closed(
  {
    ...BackendObjectReference.properties,
    weight: HTTPBackendRef.properties.weight,
  },
  { description: "A Service (and port) that receives a weighted share of the connections." },
);
export type BackendRef = Decoded<typeof BackendRef>;

/** `TCPRouteRule`. */
export const TCPRouteRule = closed(
  {
    name: Type.Optional(Type.String({ description: "Name of the rule." })),
    backendRefs: Type.Array(BackendRef, { minItems: 1, maxItems: 16, description: "Weighted Services to forward connections to.", [HintKeyword]: "list 1 to 16 backends, e.g. backendRefs: [{name: <Service>, port: <port>}]" }),
  },
  { description: "The backends of one rule of a TCPRoute." },
);
export type TCPRouteRule = Decoded<typeof TCPRouteRule>;

/** Gateway API `TCPRoute` spec. */
export const TCPRouteSpec = closed(
  {
    parentRefs: Type.Optional(Type.Array(ParentReference, { maxItems: 32, description: "Gateways (TCP listeners) or Services (mesh traffic) the route attaches to." })),
    rules: Type.Array(TCPRouteRule, { minItems: 1, maxItems: 16, description: "The rules; a connection takes the first one (TCP has nothing to match on).", [HintKeyword]: "write 1 to 16 rules, e.g. rules: [{backendRefs: [{name: <Service>, port: <port>}]}]" }),
  },
  { description: "TCP routing (Kubernetes Gateway API): where the connections of a TCP listener, or to a Service, go." },
);
export type TCPRouteSpec = Decoded<typeof TCPRouteSpec>;
