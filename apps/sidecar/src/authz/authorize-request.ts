// The authorization step of the inbound chain (mTLS → JWT → authorization → telemetry → app):
// CUSTOM (ask the external authorizer when a CUSTOM policy matches) → DENY → ALLOW, turned into
// what the data path does next: forward (with headers to add) or answer locally.
//
//   request ──► engine.checkCustom ──none──────────────────────────► engine.evaluate ──allow──► forward
//                     │ check                                           ▲       │ deny
//                     ▼                                                 │       ▼
//               ask the provider ──allowed (+headers)───────────────────┘   403 "RBAC: access denied"
//                     │ denied / failed (fail closed)                        (gRPC: status 7)
//                     ▼
//               authorizer's status, body, headers (UAEX) / statusOnError
//
// An envoyExtAuthzHttp provider is asked with checkExternal, an envoyExtAuthzGrpc one through its
// long-lived client (ExternalAuthorizer, ext-authz-grpc-client.ts); both answer an ExternalCheckResult.
// A provider with includeRequestBodyInCheck is asked once the data path has read the body
// (`describe` returns a promise then); a body over maxRequestBytes is answered 413 unasked.
import {
  rbacDeniedBody,
  rbacDeniedGrpcStatus,
  rbacDeniedStatus,
  type AuthorizationEngine,
  type AuthzDecision,
  type AuthzRequest,
  type DenyDecision,
} from "@meshwork/proxy-core";
import { httpToGrpcStatus } from "@meshwork/protocol/grpc-wire";
import { checkExternal, externalCheckFailure, type CheckExternalOptions, type ExternalAuthorizer, type ExternalCheckRequest, type ExternalCheckResult, type HeaderList } from "./check-external.ts";
import type { ExtAuthzHttpProvider, ExtAuthzProvider } from "./mesh-authz-config.ts";

/**
 * Why a request whose body the provider asked for is answered without asking: the body is over
 * maxRequestBytes (413, Envoy's request_payload_too_large), or it could not be read (the client
 * went away, or its framing is malformed: `details` says which).
 */
export type BodyRefusal = { readonly refused: "payload-too-large" } | { readonly refused: "unreadable"; readonly details: string };

/**
 * Describes the request to `provider` for its check. A promise when the provider asks for the
 * body (includeRequestBodyInCheck) and the data path reads it first; that may end in a refusal.
 * Called only when a provider is asked, so a request no CUSTOM policy matches is never buffered.
 */
export type DescribeRequest = (provider: ExtAuthzProvider) => ExternalCheckRequest | Promise<ExternalCheckRequest | BodyRefusal>;

export type AuthorizeOutcome =
  | {
      readonly type: "allow";
      /** The DENY → ALLOW decision (policy, audit mark, dry-run results) for logs and metrics. */
      readonly decision: AuthzDecision;
      /** From the external authorizer: set these on the upstream request. */
      readonly upstreamHeaders: HeaderList;
      /** From the external authorizer: remove these from the upstream request (after the sets). */
      readonly upstreamHeadersToRemove: readonly string[];
      /** From the external authorizer: add these to the response. */
      readonly downstreamHeaders: HeaderList;
      /** From the external authorizer: set these on the response, replacing same-named ones. */
      readonly downstreamHeadersToSet: HeaderList;
    }
  | {
      readonly type: "deny";
      /** HTTP status of the local reply: 403, or the external authorizer's status / statusOnError. */
      readonly status: number;
      /** For a gRPC request: answer with this grpc-status (PERMISSION_DENIED for RBAC) instead. */
      readonly grpcStatus: number;
      readonly headers: HeaderList;
      readonly body: string | Buffer;
      /** "UAEX" when the external authorizer denied; undefined for an RBAC denial. */
      readonly flag: "UAEX" | undefined;
      readonly reason: string;
      /** Envoy's %RESPONSE_CODE_DETAILS%, e.g. rbac_access_denied_matched_policy[ns[foo]-policy[deny-all]-rule[0]]. */
      readonly responseCodeDetails: string;
      /** `namespace/name` of the deciding policy, if any. */
      readonly policy: string | undefined;
      /** An AUDIT policy matched (the access log should keep this request). */
      readonly audit: boolean;
    };

export interface AuthorizeDeps {
  readonly engine: AuthorizationEngine;
  /** Extension providers by name (from parseMeshConfig). */
  readonly providers: ReadonlyMap<string, ExtAuthzProvider>;
  /**
   * The clients of the envoyExtAuthzGrpc providers by name, each keeping its channel (created and
   * closed by the composition root). A gRPC provider without one fails its checks: statusOnError, or allow when failOpen.
   */
  readonly grpcAuthorizers?: ReadonlyMap<string, ExternalAuthorizer>;
  /** HTTP providers: resolves a provider's service to an address, and aborts checks; passed to checkExternal. */
  readonly checkOptions?: (provider: ExtAuthzHttpProvider) => CheckExternalOptions;
}

const rbacHeaders: HeaderList = [["content-type", "text/plain"]];
/** Envoy's local reply when a body is over the buffer limit (its HTTP status text). */
const payloadTooLargeBody = "Payload Too Large";
const noHeaders: HeaderList = [];
const noNames: readonly string[] = [];

/**
 * Authorizes one request. Returns synchronously when no external check is needed (no CUSTOM policy
 * matches), so the common path costs no promise; otherwise a promise. Never throws or rejects.
 * `describe` tells the external authorizer about the request; it is called only when one is asked.
 */
export function authorizeRequest(deps: AuthorizeDeps, request: AuthzRequest, describe: DescribeRequest): AuthorizeOutcome | Promise<AuthorizeOutcome> {
  const { engine } = deps;
  if (engine.isEmpty) return allowed(engine.evaluate(request));
  const custom = engine.checkCustom(request);
  if (custom.type === "none") return decide(engine.evaluate(request));
  if (custom.type === "deny") return rbacDenial(custom, engine.evaluate(request).audit);
  const provider = deps.providers.get(custom.provider);
  if (!provider) {
    // The engine was compiled without the provider list; deny as Istio does for an unknown provider.
    return rbacDenial(
      {
        type: "deny",
        policy: custom.policy,
        rule: undefined,
        effectivePolicyId: custom.effectivePolicyId,
        audit: false,
        reason: `CUSTOM policy ${custom.policy}: provider "${custom.provider}" is not defined in MeshConfig extensionProviders`,
        responseCodeDetails: `rbac_access_denied_matched_policy[${custom.effectivePolicyId}-bad-custom-action]`,
      },
      false,
    );
  }
  const ask = (described: ExternalCheckRequest): Promise<ExternalCheckResult> =>
    provider.type === "http" ? checkExternal(provider, described, deps.checkOptions?.(provider)) : askAuthorizer(deps.grpcAuthorizers?.get(provider.name), provider, described);
  const described = describe(provider);
  const asked: Promise<ExternalCheckResult | BodyRefusal> = described instanceof Promise ? described.then<ExternalCheckResult | BodyRefusal>((d) => ("refused" in d ? d : ask(d))) : ask(described);
  return asked.then((result) => {
    const decision = engine.evaluate(request);
    if ("refused" in result) return bodyRefusal(result, custom.policy, decision.audit);
    if (!result.allowed) {
      return {
        type: "deny",
        status: result.status,
        grpcStatus: httpToGrpcStatus(result.status),
        headers: result.headers,
        body: result.body,
        flag: result.flag,
        reason: `CUSTOM policy ${custom.policy}: ${result.reason}`,
        responseCodeDetails: result.failed ? "ext_authz_error" : "ext_authz_denied",
        policy: custom.policy,
        audit: decision.audit,
      };
    }
    return decide(decision, result);
  });
}

/** The local reply for a body the check could not carry: 413 as Envoy's buffer limit answers, or 400 for a body that could not be read. */
function bodyRefusal(refusal: BodyRefusal, policy: string, audit: boolean): AuthorizeOutcome {
  const tooLarge = refusal.refused === "payload-too-large";
  const status = tooLarge ? 413 : 400;
  return {
    type: "deny",
    status,
    grpcStatus: httpToGrpcStatus(status),
    headers: rbacHeaders,
    body: tooLarge ? payloadTooLargeBody : "Bad Request",
    flag: undefined,
    reason: tooLarge ? `CUSTOM policy ${policy}: the request body is over the provider's includeRequestBodyInCheck.maxRequestBytes` : `CUSTOM policy ${policy}: the request body could not be read (${refusal.details})`,
    responseCodeDetails: tooLarge ? "request_payload_too_large" : refusal.details,
    policy,
    audit,
  };
}

function askAuthorizer(authorizer: ExternalAuthorizer | undefined, provider: ExtAuthzProvider, request: ExternalCheckRequest): Promise<ExternalCheckResult> {
  return authorizer ? authorizer.check(request) : Promise.resolve(externalCheckFailure(provider, `${provider.name}: no gRPC client was started for this provider`));
}

type HeaderChanges = Pick<Extract<AuthorizeOutcome, { type: "allow" }>, "upstreamHeaders" | "upstreamHeadersToRemove" | "downstreamHeaders" | "downstreamHeadersToSet">;

const noChanges: HeaderChanges = { upstreamHeaders: noHeaders, upstreamHeadersToRemove: noNames, downstreamHeaders: noHeaders, downstreamHeadersToSet: noHeaders };

function decide(decision: AuthzDecision, changes: HeaderChanges = noChanges): AuthorizeOutcome {
  return decision.type === "allow" ? allowed(decision, changes) : rbacDenial(decision, decision.audit);
}

function allowed(decision: AuthzDecision, changes: HeaderChanges = noChanges): AuthorizeOutcome {
  const { upstreamHeaders, upstreamHeadersToRemove, downstreamHeaders, downstreamHeadersToSet } = changes;
  return { type: "allow", decision, upstreamHeaders, upstreamHeadersToRemove, downstreamHeaders, downstreamHeadersToSet };
}

function rbacDenial(decision: DenyDecision, audit: boolean): AuthorizeOutcome {
  return {
    type: "deny",
    status: rbacDeniedStatus,
    grpcStatus: rbacDeniedGrpcStatus,
    headers: rbacHeaders,
    body: rbacDeniedBody,
    flag: undefined,
    reason: decision.reason,
    responseCodeDetails: decision.responseCodeDetails,
    policy: decision.policy,
    audit,
  };
}
