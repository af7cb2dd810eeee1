// Schema of Istio's AuthorizationPolicy (security.istio.io v1 and v1beta1): which requests a
// workload or gateway allows, denies, audits or hands to an external authorizer.
// Field list: istio/api security/v1beta1/authorization_policy.proto (current CRD: serviceAccounts,
// targetRefs included; the proto has no trustDomains field).
import { Type, type TArray, type TString } from "@sinclair/typebox";
import { closed, PolicyTargetReference, PolicyTargetReferences, stringEnum, WorkloadSelector, type Decoded } from "./common.ts";

/** A list of match strings: exact "abc", prefix "abc*", suffix "*abc", or "*" for "present". */
function matchList(description: string, options: { maxItems?: number; maxLength?: number } = {}): TArray<TString> {
  const { maxItems, maxLength } = options;
  return Type.Array(Type.String(maxLength === undefined ? {} : { maxLength }), {
    description,
    ...(maxItems === undefined ? {} : { maxItems }),
  });
}

/** `istio.security.v1beta1.Source`: who sent the request. Fields are ANDed; values within a field are ORed. */
export const Source = closed(
  {
    principals: Type.Optional(
      matchList('Peer identities from the mTLS certificate, "<trust domain>/ns/<namespace>/sa/<service account>" (the source.principal attribute). Needs mTLS.'),
    ),
    notPrincipals: Type.Optional(matchList("Peer identities that must not match.")),
    requestPrincipals: Type.Optional(
      matchList('Request identities from the verified JWT, "<iss>/<sub>" (the request.auth.principal attribute). Needs a RequestAuthentication.'),
    ),
    notRequestPrincipals: Type.Optional(matchList("Request identities that must not match.")),
    namespaces: Type.Optional(matchList("Namespaces of the peer, from its mTLS certificate (the source.namespace attribute). Needs mTLS.")),
    notNamespaces: Type.Optional(matchList("Namespaces that must not match.")),
    serviceAccounts: Type.Optional(
      matchList('Service accounts of the peer, "<service account>" (in the policy\'s namespace) or "<namespace>/<service account>". No wildcards; cannot be combined with principals or namespaces. Needs mTLS.', {
        maxItems: 16,
        maxLength: 320,
      }),
    ),
    notServiceAccounts: Type.Optional(matchList("Service accounts that must not match.", { maxItems: 16, maxLength: 320 })),
    ipBlocks: Type.Optional(
      matchList('Source IP addresses or CIDR ranges of the connection, e.g. "203.0.113.4" or "203.0.113.0/24" (the source.ip attribute).'),
    ),
    notIpBlocks: Type.Optional(matchList("Source IP addresses or CIDR ranges that must not match.")),
    remoteIpBlocks: Type.Optional(
      matchList(
        "Original client IP addresses or CIDR ranges, taken from X-Forwarded-For or the PROXY protocol (the remote.ip attribute). " +
          "Needs numTrustedProxies set in the gateway topology.",
      ),
    ),
    notRemoteIpBlocks: Type.Optional(matchList("Original client IP addresses or CIDR ranges that must not match.")),
  },
  { description: "The source of a request: peer identity, JWT identity, namespace, service account, IP. All fields set must match." },
);
export type Source = Decoded<typeof Source>;

/** `istio.security.v1beta1.Operation`: what the request does. Fields are ANDed; values within a field are ORed. */
export const Operation = closed(
  {
    hosts: Type.Optional(matchList("Host (authority) of the HTTP request, matched case-insensitively. HTTP only.")),
    notHosts: Type.Optional(matchList("Hosts that must not match.")),
    ports: Type.Optional(matchList('Destination ports of the connection, as strings: ["8080"].')),
    notPorts: Type.Optional(matchList("Destination ports that must not match.")),
    methods: Type.Optional(matchList('HTTP methods, e.g. ["GET", "HEAD"]; gRPC requests are always POST. HTTP only.')),
    notMethods: Type.Optional(matchList("HTTP methods that must not match.")),
    paths: Type.Optional(
      matchList(
        'Request paths after normalization, e.g. "/info*"; gRPC paths are "/package.Service/Method". ' +
          "{*} matches one path segment and {**} any number of them (as the last template operator). HTTP only.",
      ),
    ),
    notPaths: Type.Optional(matchList("Request paths that must not match.")),
  },
  { description: "The operation of a request: host, port, method, path. All fields set must match." },
);
export type Operation = Decoded<typeof Operation>;

/** `istio.security.v1beta1.Condition`: one more attribute the request must (or must not) have. */
export const Condition = closed(
  {
    key: Type.String({
      description:
        "An Istio attribute, e.g. request.headers[version], source.ip, request.auth.claims[iss], destination.port. " +
        "See https://istio.io/latest/docs/reference/config/security/conditions/.",
    }),
    values: Type.Optional(matchList("Accepted values of the attribute. At least one of values and notValues is needed.")),
    notValues: Type.Optional(matchList("Values of the attribute that must not match.")),
  },
  { description: "An additional condition on a request attribute." },
);
export type Condition = Decoded<typeof Condition>;

/** `istio.security.v1beta1.Rule.From`. */
export const RuleFrom = closed(
  { source: Type.Optional(Source) },
  { description: "A source of the request." },
);
export type RuleFrom = Decoded<typeof RuleFrom>;

/** `istio.security.v1beta1.Rule.To`. */
export const RuleTo = closed(
  { operation: Type.Optional(Operation) },
  { description: "An operation of the request." },
);
export type RuleTo = Decoded<typeof RuleTo>;

/**
 * `istio.security.v1beta1.Rule`: matches when one of `from`, one of `to` and every `when` match.
 * An omitted list matches anything, so the empty rule `{}` matches every request.
 */
export const Rule = closed(
  {
    from: Type.Optional(Type.Array(RuleFrom, { maxItems: 512, description: "Sources of the request; any may match. Unset: any source." })),
    to: Type.Optional(Type.Array(RuleTo, { description: "Operations of the request; any may match. Unset: any operation." })),
    when: Type.Optional(Type.Array(Condition, { description: "Further conditions; all must match. Unset: no further condition." })),
  },
  { description: "Matches requests from a source, doing an operation, under conditions. The empty rule {} matches every request." },
);
export type Rule = Decoded<typeof Rule>;

/** `AuthorizationPolicy.Action`. */
export const AuthorizationPolicyAction = stringEnum(["ALLOW", "DENY", "AUDIT", "CUSTOM"], {
  default: "ALLOW",
  description:
    "What to do with a request that matches the rules. CUSTOM policies are evaluated first, then DENY, then ALLOW: " +
    "a request is denied if a DENY policy matches, or if ALLOW policies exist and none matches. " +
    "AUDIT only marks matching requests for audit logging. Default ALLOW.",
});
export type AuthorizationPolicyAction = Decoded<typeof AuthorizationPolicyAction>;

/** `AuthorizationPolicy.ExtensionProvider`. */
export const ExtensionProvider = closed(
  {
    name: Type.Optional(
      Type.String({ description: "Name of an extension provider declared in MeshConfig extensionProviders, e.g. my-ext-authz." }),
    ),
  },
  { description: "The external authorizer a CUSTOM policy delegates to. At most one provider per workload." },
);
export type ExtensionProvider = Decoded<typeof ExtensionProvider>;

/** `istio.security.v1beta1.AuthorizationPolicy` spec. */
export const AuthorizationPolicySpec = closed(
  {
    selector: Type.Optional(WorkloadSelector),
    targetRef: Type.Optional(PolicyTargetReference),
    targetRefs: Type.Optional(PolicyTargetReferences),
    rules: Type.Optional(
      Type.Array(Rule, {
        maxItems: 512,
        description: "A request matches the policy when any rule matches. No rules: nothing matches (an ALLOW policy then allows nothing).",
      }),
    ),
    action: Type.Optional(AuthorizationPolicyAction),
    provider: Type.Optional(ExtensionProvider),
  },
  {
    description:
      "Access control for the selected workloads: requests matching the rules are allowed, denied, audited or " +
      "checked by an external authorizer (CUSTOM). The empty spec {} allows nothing.",
  },
);
export type AuthorizationPolicySpec = Decoded<typeof AuthorizationPolicySpec>;
