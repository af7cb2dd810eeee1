// Schema of `networking.istio.io` VirtualService: how requests to a set of hosts are matched and
// routed (HTTP, TLS by SNI, opaque TCP). Field names follow istio/api
// networking/v1alpha3/virtual_service.proto as users write them in YAML; durations decode to ms.
import { Type, type TSchema } from "@sinclair/typebox";
import { closed, mapOf, stringEnum, Duration, Percent, StringMatch, PortNumber, PortSelector, type Decoded } from "./common.ts";

/** `schema` with its own description (where a message is used in several places). */
function described<T extends TSchema>(schema: T, description: string): T {
  return { ...schema, description } as T;
}


/** Istio `Destination`: a service (and optionally subset and port) traffic is sent to. */
export const Destination = closed(
  {
    host: Type.String({
      minLength: 1,
      description:
        "Name of a service in the registry (Kubernetes service or ServiceEntry host). Short names are resolved in the namespace of the rule; prefer fully qualified names.",
    }),
    subset: Type.Optional(
      Type.String({ description: "Name of a subset of the service, defined in a DestinationRule for the host." }),
    ),
    port: Type.Optional(PortSelector),
  },
  { description: "The service, subset and port a request or connection is forwarded to." },
);
export type Destination = Decoded<typeof Destination>;

/** Istio `Headers.HeaderOperations`. */
export const HeaderOperations = closed(
  {
    set: Type.Optional(mapOf(Type.String(), { description: "Headers to overwrite, by name." })),
    add: Type.Optional(
      mapOf(Type.String(), { description: "Values to append to headers, by name (a comma-separated list results)." }),
    ),
    remove: Type.Optional(Type.Array(Type.String(), { description: "Names of headers to remove." })),
  },
  { description: "Header changes: set (overwrite), add (append) and remove." },
);
export type HeaderOperations = Decoded<typeof HeaderOperations>;

/** Istio `Headers`: header manipulation on requests and responses. */
export const Headers = closed(
  {
    request: Type.Optional(described(HeaderOperations, "Changes applied before forwarding a request to the destination.")),
    response: Type.Optional(described(HeaderOperations, "Changes applied before returning a response to the caller.")),
  },
  { description: "Header manipulation rules for requests and responses." },
);
export type Headers = Decoded<typeof Headers>;

/** Istio `HTTPMatchRequest`: conditions on an HTTP request; all set conditions must hold. */
export const HTTPMatchRequest = closed(
  {
    name: Type.Optional(
      Type.String({ description: "Name of the match, joined to the route's name in access logs." }),
    ),
    uri: Type.Optional(described(StringMatch, "Match on the request path (case-sensitive unless ignoreUriCase).")),
    scheme: Type.Optional(described(StringMatch, "Match on the URI scheme (http, https).")),
    method: Type.Optional(described(StringMatch, "Match on the HTTP method.")),
    authority: Type.Optional(described(StringMatch, "Match on the authority (Host) header.")),
    headers: Type.Optional(
      mapOf(StringMatch, {
        description:
          "Match on request headers, by lowercase name; an empty match `{}` means the header is present. Keys `@request.auth.claims.<claim>` match JWT claims (gateways only).",
      }),
    ),
    port: Type.Optional(PortNumber({ description: "The port addressed; for services exposing several ports." })),
    sourceLabels: Type.Optional(
      mapOf(Type.String(), { description: "Labels the calling workload must have." }),
    ),
    gateways: Type.Optional(
      Type.Array(Type.String(), {
        description: "Gateways (`[namespace/]name`, or `mesh`) this match applies to; overrides the VirtualService's gateways.",
      }),
    ),
    queryParams: Type.Optional(
      mapOf(StringMatch, { description: "Match on query parameters, by name (exact or regex)." }),
    ),
    ignoreUriCase: Type.Optional(Type.Boolean({ description: "Match the uri case-insensitively." })),
    withoutHeaders: Type.Optional(
      mapOf(StringMatch, { description: "Headers that must NOT match; same syntax as headers." }),
    ),
    sourceNamespace: Type.Optional(Type.String({ description: "Namespace the calling workload must be in." })),
    statPrefix: Type.Optional(
      Type.String({ description: "Prefix for the statistics of this route (route-level stats)." }),
    ),
  },
  { description: "Conditions on an HTTP request. All conditions in one match must hold; a list of matches is an OR." },
);
export type HTTPMatchRequest = Decoded<typeof HTTPMatchRequest>;

/** Istio `HTTPRouteDestination`: a weighted destination of an HTTP route. */
export const HTTPRouteDestination = closed(
  {
    destination: Destination,
    weight: Type.Optional(
      Type.Integer({
        minimum: 0,
        maximum: 2147483647,
        description:
          "Share of traffic for this destination: weight / (sum of weights). A lone destination gets everything; weight 0 gets nothing.",
      }),
    ),
    headers: Type.Optional(described(Headers, "Header changes applied only when this destination is chosen.")),
  },
  { description: "A destination of an HTTP route with its weight and per-destination header changes." },
);
export type HTTPRouteDestination = Decoded<typeof HTTPRouteDestination>;

/** Istio `RouteDestination`: a weighted destination of a TLS or TCP route. */
export const RouteDestination = closed(
  {
    destination: Destination,
    weight: Type.Optional(
      Type.Integer({
        minimum: 0,
        maximum: 2147483647,
        description: "Share of connections for this destination: weight / (sum of weights).",
      }),
    ),
  },
  { description: "A destination of a TLS or TCP route with its weight." },
);
export type RouteDestination = Decoded<typeof RouteDestination>;

/** Istio `HTTPRedirect`. */
export const HTTPRedirect = closed(
  {
    uri: Type.Optional(Type.String({ description: "Replace the path of the URL with this value." })),
    authority: Type.Optional(Type.String({ description: "Replace the authority (host) of the URL with this value." })),
    port: Type.Optional(PortNumber({ description: "Replace the port of the URL with this value." })),
    derivePort: Type.Optional(
      stringEnum(["FROM_PROTOCOL_DEFAULT", "FROM_REQUEST_PORT"], {
        description:
          "Set the port dynamically: FROM_PROTOCOL_DEFAULT (80 for http, 443 for https) or FROM_REQUEST_PORT (the port of the request).",
      }),
    ),
    scheme: Type.Optional(Type.String({ description: "Replace the scheme of the URL: http or https." })),
    redirectCode: Type.Optional(
      Type.Integer({ minimum: 0, description: "HTTP status of the redirect response (3xx); 301 when unset." }),
    ),
  },
  {
    description: "Answer with a redirect to another URL instead of forwarding the request.",
    exclusive: [["port", "derivePort"]],
  },
);
export type HTTPRedirect = Decoded<typeof HTTPRedirect>;

/** Istio `HTTPBody`. */
export const HTTPBody = closed(
  {
    string: Type.Optional(Type.String({ description: "Response body as text." })),
    bytes: Type.Optional(
      Type.String({
        pattern: "^[A-Za-z0-9+/]*={0,2}$",
        description: "Response body as base64-encoded bytes.",
      }),
    ),
  },
  { description: "Body of a direct response: text or base64-encoded bytes.", exclusive: [["string", "bytes"]] },
);
export type HTTPBody = Decoded<typeof HTTPBody>;

/** Istio `HTTPDirectResponse`. */
export const HTTPDirectResponse = closed(
  {
    status: Type.Integer({ minimum: 0, description: "HTTP status of the response (200..599)." }),
    body: Type.Optional(HTTPBody),
  },
  { description: "Answer the request directly with a fixed status and body, without forwarding it." },
);
export type HTTPDirectResponse = Decoded<typeof HTTPDirectResponse>;

/** Istio `Delegate`. */
export const Delegate = closed(
  {
    name: Type.Optional(Type.String({ description: "Name of the delegate VirtualService." })),
    namespace: Type.Optional(
      Type.String({ description: "Namespace of the delegate VirtualService; the root's namespace when unset." }),
    ),
  },
  { description: "A VirtualService (with no hosts) whose HTTP routes are merged under this route's match." },
);
export type Delegate = Decoded<typeof Delegate>;

/** Istio `RegexRewrite`. */
export const RegexRewrite = closed(
  {
    match: Type.Optional(Type.String({ description: "RE2 regular expression matched against the path." })),
    rewrite: Type.Optional(
      Type.String({ description: "Replacement for the matched parts; may refer to groups as \\1, \\2, ..." }),
    ),
  },
  { description: "Rewrite the path with a regular expression and a substitution." },
);
export type RegexRewrite = Decoded<typeof RegexRewrite>;

/** Istio `HTTPRewrite`. */
export const HTTPRewrite = closed(
  {
    uri: Type.Optional(
      Type.String({ description: "Replace the path, or the part matched by a prefix match, with this value." }),
    ),
    authority: Type.Optional(Type.String({ description: "Replace the authority (Host) header with this value." })),
    uriRegexRewrite: Type.Optional(RegexRewrite),
  },
  { description: "Rewrite the path and/or authority before forwarding. Cannot be combined with a redirect." },
);
export type HTTPRewrite = Decoded<typeof HTTPRewrite>;

/** Istio `HTTPRetry`. */
export const HTTPRetry = closed(
  {
    attempts: Type.Optional(
      Type.Integer({
        minimum: 0,
        maximum: 2147483647,
        description: "Number of retries for a request; 0 disables retries. The route timeout bounds all attempts together.",
      }),
    ),
    perTryTimeout: Type.Optional(
      Duration({ description: "Timeout of each attempt (the first try and each retry), at least 1ms." }),
    ),
    retryOn: Type.Optional(
      Type.String({
        description:
          "Comma-separated conditions that trigger a retry: Envoy retry policies (5xx, gateway-error, reset, connect-failure, retriable-4xx, refused-stream, retriable-status-codes, ...), gRPC conditions (cancelled, deadline-exceeded, internal, resource-exhausted, unavailable) or HTTP status codes.",
      }),
    ),
    retryRemoteLocalities: Type.Optional(
      Type.Boolean({ description: "Whether retries may go to endpoints in other localities." }),
    ),
    retryIgnorePreviousHosts: Type.Optional(
      Type.Boolean({ description: "Whether retries avoid hosts already tried for this request (Istio's default: true)." }),
    ),
    backoff: Type.Optional(
      Duration({ description: "Base interval between retries (Envoy's default 25ms when unset)." }),
    ),
  },
  { description: "Retry policy for HTTP requests." },
);
export type HTTPRetry = Decoded<typeof HTTPRetry>;

/** Istio `HTTPFaultInjection.Delay`. */
export const HTTPFaultInjectionDelay = closed(
  {
    fixedDelay: Type.Optional(Duration({ description: "Fixed delay added before forwarding, at least 1ms." })),
    exponentialDelay: Type.Optional(
      Duration({ description: "Exponential delay; accepted by the API but not supported by Istio yet." }),
    ),
    percentage: Type.Optional(described(Percent, "Share of requests to delay (0.0..100.0).")),
    percent: Type.Optional(
      Type.Integer({
        minimum: 0,
        maximum: 100,
        description: "Deprecated: integer share of requests to delay; use percentage.",
      }),
    ),
  },
  {
    description: "Delay requests before forwarding, emulating a slow network or overloaded upstream.",
    exclusive: [["fixedDelay", "exponentialDelay"]],
  },
);
export type HTTPFaultInjectionDelay = Decoded<typeof HTTPFaultInjectionDelay>;

/** Istio `HTTPFaultInjection.Abort`. */
export const HTTPFaultInjectionAbort = closed(
  {
    httpStatus: Type.Optional(Type.Integer({ description: "HTTP status to answer with (200..599)." })),
    grpcStatus: Type.Optional(
      Type.String({ description: "gRPC status to answer with, by name (e.g. UNAVAILABLE, NOT_FOUND)." }),
    ),
    http2Error: Type.Optional(Type.String({ description: "HTTP/2 error to answer with; not supported by Istio yet." })),
    percentage: Type.Optional(described(Percent, "Share of requests to abort (0.0..100.0).")),
  },
  {
    description: "Abort requests with an error status, emulating a failing upstream.",
    exclusive: [["httpStatus", "grpcStatus", "http2Error"]],
  },
);
export type HTTPFaultInjectionAbort = Decoded<typeof HTTPFaultInjectionAbort>;

/** Istio `HTTPFaultInjection`. */
export const HTTPFaultInjection = closed(
  {
    delay: Type.Optional(HTTPFaultInjectionDelay),
    abort: Type.Optional(HTTPFaultInjectionAbort),
  },
  {
    description:
      "Faults injected on the client side: delays and/or aborts. Timeouts and retries are not applied while a fault is configured.",
  },
);
export type HTTPFaultInjection = Decoded<typeof HTTPFaultInjection>;

/** Istio `HTTPMirrorPolicy`. */
export const HTTPMirrorPolicy = closed(
  {
    destination: Destination,
    percentage: Type.Optional(described(Percent, "Share of traffic to mirror; all of it when unset.")),
  },
  { description: "A destination that receives a copy of the traffic (responses are ignored)." },
);
export type HTTPMirrorPolicy = Decoded<typeof HTTPMirrorPolicy>;

/** Istio `CorsPolicy`. */
export const CorsPolicy = closed(
  {
    allowOrigins: Type.Optional(
      Type.Array(StringMatch, { description: "Origins allowed to make cross-origin requests (exact, prefix or regex)." }),
    ),
    allowOrigin: Type.Optional(
      Type.Array(Type.String(), { description: "Deprecated: allowed origins as exact strings; use allowOrigins." }),
    ),
    allowMethods: Type.Optional(
      Type.Array(Type.String(), { description: "HTTP methods allowed (Access-Control-Allow-Methods); `*` for any." }),
    ),
    allowHeaders: Type.Optional(
      Type.Array(Type.String(), { description: "Request headers allowed (Access-Control-Allow-Headers)." }),
    ),
    exposeHeaders: Type.Optional(
      Type.Array(Type.String(), { description: "Response headers browsers may read (Access-Control-Expose-Headers)." }),
    ),
    maxAge: Type.Optional(
      Duration({ description: "How long browsers may cache the preflight result (Access-Control-Max-Age), in whole seconds." }),
    ),
    allowCredentials: Type.Optional(
      Type.Boolean({ description: "Whether the actual request may carry credentials (Access-Control-Allow-Credentials)." }),
    ),
    unmatchedPreflights: Type.Optional(
      stringEnum(["UNSPECIFIED", "FORWARD", "IGNORE"], {
        description:
          "What to do with preflight requests whose origin is not allowed: FORWARD them upstream (the default) or IGNORE them (answer without CORS headers).",
      }),
    ),
  },
  { description: "Cross-Origin Resource Sharing (CORS) policy." },
);
export type CorsPolicy = Decoded<typeof CorsPolicy>;

/** Istio `HTTPRoute`: match conditions and what to do with matching HTTP/1.1, HTTP/2 and gRPC requests. */
export const HTTPRoute = closed(
  {
    name: Type.Optional(Type.String({ description: "Name of the route, for access logs and debugging." })),
    match: Type.Optional(
      Type.Array(HTTPMatchRequest, {
        description: "Conditions for the route; any one match suffices. No match means every request.",
      }),
    ),
    route: Type.Optional(
      Type.Array(HTTPRouteDestination, { description: "Weighted destinations to forward matching requests to." }),
    ),
    redirect: Type.Optional(HTTPRedirect),
    directResponse: Type.Optional(HTTPDirectResponse),
    delegate: Type.Optional(Delegate),
    rewrite: Type.Optional(HTTPRewrite),
    timeout: Type.Optional(Duration({ description: "Timeout for the whole request including retries; none when unset." })),
    retries: Type.Optional(HTTPRetry),
    fault: Type.Optional(HTTPFaultInjection),
    mirror: Type.Optional(described(Destination, "A destination that receives a copy of each request (best effort; its response is ignored).")),
    mirrors: Type.Optional(
      Type.Array(HTTPMirrorPolicy, { description: "Several mirror destinations, each with its own percentage." }),
    ),
    mirrorPercentage: Type.Optional(described(Percent, "Share of traffic copied to `mirror` (0.0..100.0); all of it when unset.")),
    mirrorPercent: Type.Optional(
      Type.Integer({
        minimum: 0,
        maximum: 4294967295,
        description: "Deprecated: integer share of traffic copied to `mirror`; use mirrorPercentage.",
      }),
    ),
    mirror_percent: Type.Optional(
      Type.Integer({
        minimum: 0,
        maximum: 4294967295,
        description: "Deprecated spelling of mirrorPercent (the protobuf field name); use mirrorPercentage.",
      }),
    ),
    corsPolicy: Type.Optional(CorsPolicy),
    headers: Type.Optional(Headers),
  },
  {
    description:
      "Match conditions and the action for HTTP/1.1, HTTP/2 and gRPC traffic: forward (route), redirect, directResponse or delegate.",
  },
);
export type HTTPRoute = Decoded<typeof HTTPRoute>;

/** Istio `TLSMatchAttributes`. */
export const TLSMatchAttributes = closed(
  {
    sniHosts: Type.Array(Type.String(), {
      description: "SNI values to match; each must be one of, or covered by, the VirtualService hosts. Wildcard prefixes allowed.",
    }),
    destinationSubnets: Type.Optional(
      Type.Array(Type.String(), { description: "Destination IP addresses or CIDR blocks (a.b.c.d/xx)." }),
    ),
    port: Type.Optional(PortNumber({ description: "The port addressed." })),
    sourceLabels: Type.Optional(mapOf(Type.String(), { description: "Labels the calling workload must have." })),
    gateways: Type.Optional(
      Type.Array(Type.String(), { description: "Gateways this match applies to; overrides the VirtualService's gateways." }),
    ),
    sourceNamespace: Type.Optional(Type.String({ description: "Namespace the calling workload must be in." })),
  },
  { description: "Conditions on an unterminated TLS connection, chiefly its SNI." },
);
export type TLSMatchAttributes = Decoded<typeof TLSMatchAttributes>;

/** Istio `L4MatchAttributes`. */
export const L4MatchAttributes = closed(
  {
    destinationSubnets: Type.Optional(
      Type.Array(Type.String(), { description: "Destination IP addresses or CIDR blocks (a.b.c.d/xx)." }),
    ),
    port: Type.Optional(PortNumber({ description: "The port addressed." })),
    sourceSubnet: Type.Optional(
      Type.String({ description: "Hidden in Istio's docs and unused: source IP or CIDR. Kept so existing resources load." }),
    ),
    sourceLabels: Type.Optional(mapOf(Type.String(), { description: "Labels the calling workload must have." })),
    gateways: Type.Optional(
      Type.Array(Type.String(), { description: "Gateways this match applies to; overrides the VirtualService's gateways." }),
    ),
    sourceNamespace: Type.Optional(Type.String({ description: "Namespace the calling workload must be in." })),
  },
  { description: "Conditions on a TCP connection." },
);
export type L4MatchAttributes = Decoded<typeof L4MatchAttributes>;

/** Istio `TLSRoute`. */
export const TLSRoute = closed(
  {
    match: Type.Array(TLSMatchAttributes, { description: "Conditions for the route; any one match suffices." }),
    route: Type.Optional(
      Type.Array(RouteDestination, { description: "Weighted destinations to forward matching connections to." }),
    ),
  },
  { description: "Routing of unterminated TLS (TLS/HTTPS passthrough) connections, by SNI." },
);
export type TLSRoute = Decoded<typeof TLSRoute>;

/** Istio `TCPRoute`. */
export const TCPRoute = closed(
  {
    match: Type.Optional(
      Type.Array(L4MatchAttributes, { description: "Conditions for the route; any one match suffices. None means every connection." }),
    ),
    route: Type.Optional(
      Type.Array(RouteDestination, { description: "Weighted destinations to forward matching connections to." }),
    ),
  },
  { description: "Routing of opaque TCP connections." },
);
export type TCPRoute = Decoded<typeof TCPRoute>;

/** Istio `VirtualService` spec. */
export const VirtualServiceSpec = closed(
  {
    hosts: Type.Optional(
      Type.Array(Type.String(), {
        description:
          "Hosts the routes apply to: DNS names (wildcard prefix allowed), short names (resolved in the rule's namespace) or, for gateways, IP addresses. Empty for a delegate VirtualService.",
      }),
    ),
    gateways: Type.Optional(
      Type.Array(Type.String(), {
        description:
          "Gateways (`[namespace/]name`) and/or `mesh` (all sidecars) that apply these routes; `mesh` when unset.",
      }),
    ),
    http: Type.Optional(
      Type.Array(HTTPRoute, { description: "Ordered HTTP routes; the first matching route is used." }),
    ),
    tls: Type.Optional(
      Type.Array(TLSRoute, { description: "Ordered routes for unterminated TLS traffic; the first matching route is used." }),
    ),
    tcp: Type.Optional(
      Type.Array(TCPRoute, { description: "Ordered routes for opaque TCP traffic; the first matching route is used." }),
    ),
    exportTo: Type.Optional(
      Type.Array(Type.String(), {
        description: "Namespaces that can see this VirtualService: `.` (its own), `*` (all, the default) or namespace names.",
      }),
    ),
  },
  { description: "Routing rules applied when a host is addressed: match requests and send them to destinations." },
);
export type VirtualServiceSpec = Decoded<typeof VirtualServiceSpec>;
