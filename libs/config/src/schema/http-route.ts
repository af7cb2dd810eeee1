// Schema of the Kubernetes Gateway API `HTTPRoute` (gateway.networking.k8s.io v1 / v1beta1), and the
// references it shares with the other Gateway API kinds (parentRefs, backendRefs, header filters).
// Field names and defaults follow sigs.k8s.io/gateway-api apis/v1 as users write them in YAML.
import { Type } from "@sinclair/typebox";
import { closed, Duration, stringEnum, PortNumber, type Decoded } from "./common.ts";

const name = (description: string) => Type.String({ minLength: 1, maxLength: 253, description });

/** `ParentReference`: the Gateway (ingress) or Service (mesh, GAMMA) a route attaches to. */
export const ParentReference = closed(
  {
    group: Type.Optional(Type.String({ description: "API group of the parent: gateway.networking.k8s.io (the default) for a Gateway, \"\" (core) for a Service." })),
    kind: Type.Optional(Type.String({ default: "Gateway", description: "Kind of the parent: Gateway (ingress) or Service (mesh routing, GAMMA)." })),
    namespace: Type.Optional(Type.String({ description: "Namespace of the parent; the route's own when unset." })),
    name: name("Name of the parent Gateway or Service."),
    sectionName: Type.Optional(Type.String({ description: "Name of one listener of the Gateway (or port name of the Service) to attach to; all of them when unset." })),
    port: Type.Optional(PortNumber({ description: "Port of the listener (or Service port) to attach to; all of them when unset." })),
  },
  { description: "A resource the route attaches to: a Gateway listener, or a Service for mesh traffic." },
);
export type ParentReference = Decoded<typeof ParentReference>;

/** `BackendObjectReference`: a Service (and port) traffic goes to. */
export const BackendObjectReference = closed(
  {
    group: Type.Optional(Type.String({ description: "API group of the backend; \"\" (core, a Service) when unset." })),
    kind: Type.Optional(Type.String({ default: "Service", description: "Kind of the backend; Service (the default) is supported." })),
    name: name("Name of the Service."),
    namespace: Type.Optional(Type.String({ description: "Namespace of the Service; the route's own when unset. Another namespace needs a ReferenceGrant there." })),
    port: Type.Optional(PortNumber({ description: "Port of the Service; required for a Service backend." })),
  },
  { description: "A Service (and port) that receives traffic." },
);
export type BackendObjectReference = Decoded<typeof BackendObjectReference>;

const HTTPHeader = closed(
  {
    name: name("Header name, case-insensitive."),
    value: Type.String({ description: "Header value." }),
  },
  { description: "A header name and value." },
);

/** `HTTPHeaderFilter`: set, add and remove headers. */
export const HTTPHeaderFilter = closed(
  {
    set: Type.Optional(Type.Array(HTTPHeader, { maxItems: 16, description: "Headers to overwrite (or add when absent)." })),
    add: Type.Optional(Type.Array(HTTPHeader, { maxItems: 16, description: "Values to append to headers." })),
    remove: Type.Optional(Type.Array(Type.String(), { maxItems: 16, description: "Names of headers to remove." })),
  },
  { description: "Header changes: set (overwrite), add (append) and remove." },
);
export type HTTPHeaderFilter = Decoded<typeof HTTPHeaderFilter>;

/** `HTTPPathModifier` of RequestRedirect and URLRewrite. */
const HTTPPathModifier = closed(
  {
    type: stringEnum(["ReplaceFullPath", "ReplacePrefixMatch"], { description: "ReplaceFullPath replaces the whole path; ReplacePrefixMatch replaces the part a PathPrefix match matched." }),
    replaceFullPath: Type.Optional(Type.String({ description: "The new path, with type ReplaceFullPath." })),
    replacePrefixMatch: Type.Optional(Type.String({ description: "What replaces the matched prefix, with type ReplacePrefixMatch." })),
  },
  { description: "How a redirect or rewrite changes the path." },
);

/** `HTTPRequestMirrorFilter`. */
const HTTPRequestMirrorFilter = closed(
  {
    backendRef: BackendObjectReference,
    percent: Type.Optional(Type.Integer({ minimum: 0, maximum: 100, description: "Share of requests mirrored, 0..100; all when unset." })),
    fraction: Type.Optional(
      closed(
        {
          numerator: Type.Integer({ minimum: 0, description: "Numerator of the mirrored fraction." }),
          denominator: Type.Optional(Type.Integer({ minimum: 1, default: 100, description: "Denominator of the mirrored fraction; 100 when unset." })),
        },
        { description: "Share of requests mirrored as a fraction." },
      ),
    ),
  },
  { description: "A Service that receives a copy of each request; its response is ignored.", exclusive: [["percent", "fraction"]] },
);

/** `HTTPRouteFilter`: one processing step of a rule or backend; `type` names the field that is set. */
export const HTTPRouteFilter = closed(
  {
    type: stringEnum(["RequestHeaderModifier", "ResponseHeaderModifier", "RequestMirror", "RequestRedirect", "URLRewrite", "ExtensionRef"], {
      description: "The filter: RequestHeaderModifier, ResponseHeaderModifier, RequestMirror, RequestRedirect, URLRewrite or ExtensionRef.",
    }),
    requestHeaderModifier: Type.Optional(HTTPHeaderFilter),
    responseHeaderModifier: Type.Optional(HTTPHeaderFilter),
    requestMirror: Type.Optional(HTTPRequestMirrorFilter),
    requestRedirect: Type.Optional(
      closed(
        {
          scheme: Type.Optional(stringEnum(["http", "https"], { description: "Scheme of the Location; the request's when unset." })),
          hostname: Type.Optional(Type.String({ description: "Host of the Location; the request's when unset." })),
          path: Type.Optional(HTTPPathModifier),
          port: Type.Optional(PortNumber({ description: "Port of the Location; derived from the scheme when unset." })),
          statusCode: Type.Optional(Type.Integer({ default: 302, description: "301 or 302 (the default)." })),
        },
        { description: "Answer with a redirect instead of forwarding." },
      ),
    ),
    urlRewrite: Type.Optional(
      closed(
        {
          hostname: Type.Optional(Type.String({ description: "Replace the Host header with this value." })),
          path: Type.Optional(HTTPPathModifier),
        },
        { description: "Rewrite the Host header and/or path before forwarding." },
      ),
    ),
    extensionRef: Type.Optional(
      closed(
        { group: Type.String(), kind: Type.String(), name: name("Name of the extension resource.") },
        { description: "An implementation-specific filter (not supported by Meshwork)." },
      ),
    ),
  },
  { description: "A processing step applied to matching requests: header changes, a mirror, a redirect or a rewrite." },
);
export type HTTPRouteFilter = Decoded<typeof HTTPRouteFilter>;

/** `HTTPBackendRef`: a weighted backend with its own filters. */
export const HTTPBackendRef = closed(
  {
    ...BackendObjectReference.properties,
    weight: Type.Optional(Type.Integer({ minimum: 0, maximum: 1000000, default: 1, description: "Relative share of requests: weight / sum of weights; 1 when unset, 0 gets nothing." })),
    filters: Type.Optional(Type.Array(HTTPRouteFilter, { maxItems: 16, description: "Filters applied only when this backend is chosen (header modifiers)." })),
  },
  { description: "A Service that receives a weighted share of the rule's requests." },
);
export type HTTPBackendRef = Decoded<typeof HTTPBackendRef>;

/** A header (or query parameter) condition: Exact or RE2 RegularExpression on one name. Shared with GRPCRoute. */
export const HTTPMatchValue = (what: string) =>
  closed(
    {
      type: Type.Optional(stringEnum(["Exact", "RegularExpression"], { default: "Exact", description: `How the ${what} value matches: Exact (the default) or RegularExpression (RE2).` })),
      name: name(`Name of the ${what}.`),
      value: Type.String({ maxLength: 4096, description: `Value the ${what} must match.` }),
    },
    { description: `A condition on a request ${what}.` },
  );

/** `HTTPRouteMatch`: all set conditions must hold. */
export const HTTPRouteMatch = closed(
  {
    path: Type.Optional(
      closed(
        {
          type: Type.Optional(stringEnum(["Exact", "PathPrefix", "RegularExpression"], { default: "PathPrefix", description: "Exact, PathPrefix (the default; whole path segments) or RegularExpression (RE2)." })),
          value: Type.Optional(Type.String({ maxLength: 1024, default: "/", description: "The path; `/` when unset." })),
        },
        { description: "A condition on the request path." },
      ),
    ),
    headers: Type.Optional(Type.Array(HTTPMatchValue("header"), { maxItems: 16, description: "Conditions on request headers." })),
    queryParams: Type.Optional(Type.Array(HTTPMatchValue("query parameter"), { maxItems: 16, description: "Conditions on query parameters." })),
    method: Type.Optional(stringEnum(["GET", "HEAD", "POST", "PUT", "DELETE", "CONNECT", "OPTIONS", "TRACE", "PATCH"], { description: "The HTTP method." })),
  },
  { description: "Conditions on an HTTP request; all of them must hold. A list of matches is an OR." },
);
export type HTTPRouteMatch = Decoded<typeof HTTPRouteMatch>;

/** `HTTPRouteRule`. */
export const HTTPRouteRule = closed(
  {
    name: Type.Optional(Type.String({ description: "Name of the rule." })),
    matches: Type.Optional(Type.Array(HTTPRouteMatch, { maxItems: 64, description: "Conditions, any one of which selects the rule; every request (path prefix `/`) when unset." })),
    filters: Type.Optional(Type.Array(HTTPRouteFilter, { maxItems: 16, description: "Processing steps for matching requests." })),
    backendRefs: Type.Optional(Type.Array(HTTPBackendRef, { maxItems: 16, description: "Weighted Services to forward matching requests to; none (and no redirect) answers 500." })),
    timeouts: Type.Optional(
      closed(
        {
          request: Type.Optional(Duration({ description: "Timeout of the whole request, retries included; `0s` disables it." })),
          backendRequest: Type.Optional(Duration({ description: "Timeout of each request to a backend." })),
        },
        { description: "Request timeouts." },
      ),
    ),
  },
  { description: "Matches, filters and backends of one rule of an HTTPRoute." },
);
export type HTTPRouteRule = Decoded<typeof HTTPRouteRule>;

/** Gateway API `HTTPRoute` spec. */
export const HTTPRouteSpec = closed(
  {
    parentRefs: Type.Optional(Type.Array(ParentReference, { maxItems: 32, description: "Gateways (or Services, for mesh traffic) the route attaches to." })),
    hostnames: Type.Optional(Type.Array(Type.String({ minLength: 1, maxLength: 253 }), { maxItems: 16, description: "Host names the route serves (`*.` prefix allowed); every host the listener accepts when unset." })),
    rules: Type.Optional(Type.Array(HTTPRouteRule, { maxItems: 16, description: "The rules; requests matching none get 404." })),
  },
  { description: "HTTP routing (Kubernetes Gateway API): where requests to some host names go, attached to Gateways or Services." },
);
export type HTTPRouteSpec = Decoded<typeof HTTPRouteSpec>;
