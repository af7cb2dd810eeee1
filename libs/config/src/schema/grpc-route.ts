// Schema of the Kubernetes Gateway API `GRPCRoute` (gateway.networking.k8s.io v1): gRPC routing by
// service and method. Parent references, host names, header filters, mirrors and backends are
// HTTPRoute's (apis/v1 grpcroute_types.go reuses them).
import { Type } from "@sinclair/typebox";
import { closed, stringEnum, type Decoded } from "./common.ts";
import { BackendObjectReference, HTTPBackendRef, HTTPMatchValue, HTTPRouteFilter, ParentReference } from "./http-route.ts";

/** `GRPCRouteFilter`: the HTTPRoute filters gRPC allows; `type` names the field that is set. */
export const GRPCRouteFilter = closed(
  {
    type: stringEnum(["RequestHeaderModifier", "ResponseHeaderModifier", "RequestMirror", "ExtensionRef"], {
      description: "The filter: RequestHeaderModifier, ResponseHeaderModifier, RequestMirror or ExtensionRef.",
    }),
    requestHeaderModifier: HTTPRouteFilter.properties.requestHeaderModifier,
    responseHeaderModifier: HTTPRouteFilter.properties.responseHeaderModifier,
    requestMirror: HTTPRouteFilter.properties.requestMirror,
    extensionRef: HTTPRouteFilter.properties.extensionRef,
  },
  { description: "A processing step applied to matching calls: header changes or a mirror." },
);
export type GRPCRouteFilter = Decoded<typeof GRPCRouteFilter>;

/** `GRPCBackendRef`: a weighted backend with its own filters. */
export const GRPCBackendRef = closed(
  {
    ...BackendObjectReference.properties,
    weight: HTTPBackendRef.properties.weight,
    filters: Type.Optional(Type.Array(GRPCRouteFilter, { maxItems: 16, description: "Filters applied only when this backend is chosen (header modifiers)." })),
  },
  { description: "A Service that receives a weighted share of the rule's calls; it must speak HTTP/2 (gRPC)." },
);
export type GRPCBackendRef = Decoded<typeof GRPCBackendRef>;

/** `GRPCMethodMatch`: the call's `/<service>/<method>` path, by part. */
export const GRPCMethodMatch = closed(
  {
    type: Type.Optional(stringEnum(["Exact", "RegularExpression"], { default: "Exact", description: "How service and method match: Exact (the default) or RegularExpression (RE2)." })),
    service: Type.Optional(Type.String({ minLength: 1, maxLength: 1024, description: "The fully qualified service, e.g. `helloworld.Greeter`; any service when unset." })),
    method: Type.Optional(Type.String({ minLength: 1, maxLength: 1024, description: "The method, e.g. `SayHello`; any method when unset." })),
  },
  { description: "A condition on the gRPC service and/or method; at least one of them must be set." },
);
export type GRPCMethodMatch = Decoded<typeof GRPCMethodMatch>;

/** `GRPCRouteMatch`: all set conditions must hold. */
export const GRPCRouteMatch = closed(
  {
    method: Type.Optional(GRPCMethodMatch),
    headers: Type.Optional(Type.Array(HTTPMatchValue("header"), { maxItems: 16, description: "Conditions on request headers (gRPC metadata)." })),
  },
  { description: "Conditions on a gRPC call; all of them must hold. A list of matches is an OR." },
);
export type GRPCRouteMatch = Decoded<typeof GRPCRouteMatch>;

/** `GRPCRouteRule`. */
export const GRPCRouteRule = closed(
  {
    name: Type.Optional(Type.String({ description: "Name of the rule." })),
    matches: Type.Optional(Type.Array(GRPCRouteMatch, { maxItems: 64, description: "Conditions, any one of which selects the rule; every call when unset." })),
    filters: Type.Optional(Type.Array(GRPCRouteFilter, { maxItems: 16, description: "Processing steps for matching calls." })),
    backendRefs: Type.Optional(Type.Array(GRPCBackendRef, { maxItems: 16, description: "Weighted Services to forward matching calls to; none answers 500." })),
  },
  { description: "Matches, filters and backends of one rule of a GRPCRoute." },
);
export type GRPCRouteRule = Decoded<typeof GRPCRouteRule>;

/** Gateway API `GRPCRoute` spec. */
export const GRPCRouteSpec = closed(
  {
    parentRefs: Type.Optional(Type.Array(ParentReference, { maxItems: 32, description: "Gateways (or Services, for mesh traffic) the route attaches to." })),
    hostnames: Type.Optional(Type.Array(Type.String({ minLength: 1, maxLength: 253 }), { maxItems: 16, description: "Host names the route serves (`*.` prefix allowed); every host the listener accepts when unset." })),
    rules: Type.Optional(Type.Array(GRPCRouteRule, { maxItems: 16, description: "The rules; calls matching none get 404 (gRPC status UNIMPLEMENTED)." })),
  },
  { description: "gRPC routing (Kubernetes Gateway API): where calls to some host names, services and methods go, attached to Gateways or Services." },
);
export type GRPCRouteSpec = Decoded<typeof GRPCRouteSpec>;
