// The inbound chain's request-level security (DESIGN.md §3.5: peer auth → JWT authn → authz):
// after mTLS has given the connection its peer identity, each request is authenticated
// (RequestAuthentication, src/authn) and authorized (AuthorizationPolicy CUSTOM → DENY → ALLOW,
// src/authz) before it reaches the application. Built once per config; the answer is synchronous
// unless a JWKS fetch or an external authorizer must be awaited (an authorizer that asks for the
// body has it read first, through the arrival connection). Inbound TCP connections are
// authorized here too (checkConnection: CUSTOM with a gRPC provider → DENY → ALLOW).
import { normalizeAuthzPath, type AuthnRequest, type AuthorizationEngine, type AuthzRequest, type HeaderOps } from "@meshwork/proxy-core";
import type { AuthnResult, RequestAuthenticator } from "../authn/index.ts";
import { authorizeConnection, type ConnectionOutcome } from "../authz/authorize-connection.ts";
import { authorizeRequest, type AuthorizeDeps, type AuthorizeOutcome, type BodyRefusal, type DescribeRequest } from "../authz/authorize-request.ts";
import type { ConnectionCheckRequest, ExternalCheckRequest } from "../authz/check-external.ts";
import type { ExtAuthzProvider, ExtAuthzRequestBody } from "../authz/mesh-authz-config.ts";
import { bodyReadLimit, isBodyTooLarge } from "../authz/request-body-check.ts";
import type { RequestHead } from "../http1/parse-request-head.ts";
import { headerRecord, type Decision, type ForwardDecision, type ReplyDecision } from "./route-request.ts";
import type { ArrivalConnection, RequestBodyRead } from "./socket-address.ts";

/** What the connection knows of the caller. */
export interface InboundPeer {
  /** Direct peer address (`source.ip`). */
  readonly sourceIp: string;
  /** The original client's address (`remote.ip`: a gateway's X-Forwarded-For with numTrustedProxies); undefined = sourceIp. */
  readonly remoteIp?: string | undefined;
  /** Verified mTLS identity as Istio writes principals ("cluster.local/ns/x/sa/y"); undefined on plaintext. */
  readonly principal: string | undefined;
  /** The listener port (`destination.port`). */
  readonly destinationPort: number;
  /** The connection's addresses and protocol, for an external authorizer's check; undefined: not known. */
  readonly connection?: ArrivalConnection | undefined;
  /** This proxy's SPIFFE ID (`spiffe://…`) when the connection is mutual TLS: the check's destination principal. */
  readonly localSpiffeId?: string | undefined;
  /** The SNI of TLS the proxy terminated (`connection.sni`); undefined without TLS or SNI. */
  readonly sni?: string | undefined;
  /**
   * The request's scheme as an edge proxy sets x-forwarded-proto (a gateway: https on TLS it
   * terminated), for the JWT 401's realm and the external authorizer's check; undefined = the
   * client's x-forwarded-proto, else the connection's.
   */
  readonly scheme?: "http" | "https" | undefined;
}

export type SecurityVerdict =
  | {
      readonly type: "pass";
      /** Request header changes: JWT outputs, the token removed, headers from the external authorizer. */
      readonly requestHeaders: HeaderOps | undefined;
      /** Response headers from the external authorizer (headersToDownstreamOnAllow). */
      readonly responseHeaders: HeaderOps | undefined;
      /** A new request target when a token was taken out of the query; undefined = unchanged. */
      readonly target: string | undefined;
      /** `iss/sub` of the verified JWT. */
      readonly requestPrincipal: string | undefined;
      /** An AUDIT policy matched: the access log should keep this request. */
      readonly audit: boolean;
    }
  | {
      readonly type: "deny";
      readonly reply: ReplyDecision;
      /** gRPC status for a gRPC request (PERMISSION_DENIED for RBAC, UNAUTHENTICATED for a bad token). */
      readonly grpcStatus: number;
      /** "authn" (RequestAuthentication) or "authz" (AuthorizationPolicy), for the denial metric. */
      readonly by: "authn" | "authz";
    };

/** An inbound TCP connection as authorization sees it, after mutual TLS. */
export interface InboundConnectionPeer {
  readonly socket: ArrivalConnection["socket"];
  /** Verified mTLS identity as Istio writes principals ("cluster.local/ns/x/sa/y"); undefined on plain text. */
  readonly principal: string | undefined;
  /** The peer's SPIFFE ID (`spiffe://…`); undefined on plain text. */
  readonly peerSpiffeId: string | undefined;
  /** This proxy's SPIFFE ID when the connection is mutual TLS. */
  readonly localSpiffeId: string | undefined;
  /** The port the connection arrived at (`destination.port`). */
  readonly destinationPort: number;
  /** The SNI of the client's TLS (`connection.sni`); undefined on plain text. */
  readonly sni: string | undefined;
  /**
   * The physical peer (`source.ip`) when the socket's remote address is the client a gateway's
   * PROXY protocol header named (then `remote.ip`); undefined: the socket's remote address is both.
   */
  readonly directIp?: string | undefined;
}

const allowedConnection: ConnectionOutcome = Object.freeze({ type: "allow", decision: Object.freeze({ type: "allow", policy: undefined, rule: undefined, effectivePolicyId: "none", audit: false }) });

const passThrough: SecurityVerdict = Object.freeze({ type: "pass", requestHeaders: undefined, responseHeaders: undefined, target: undefined, requestPrincipal: undefined, audit: false });

export interface InboundSecurityParts {
  readonly authn: RequestAuthenticator | undefined;
  /** The compiled policies and extension providers; undefined = no authorization. */
  readonly authz: AuthorizeDeps | undefined;
}

export class InboundSecurity {
  readonly #authn: RequestAuthenticator | undefined;
  readonly #authz: AuthorizeDeps | undefined;
  /** Nothing to check: the data path skips the layer. */
  readonly isEmpty: boolean;

  constructor(parts: InboundSecurityParts) {
    this.#authn = parts.authn?.isEmpty === false ? parts.authn : undefined;
    this.#authz = parts.authz?.engine.isEmpty === false ? parts.authz : undefined;
    this.isEmpty = this.#authn === undefined && this.#authz === undefined;
  }

  /** Whether AuthorizationPolicies apply: without, inbound TCP connections skip checkConnection. */
  get authorizes(): boolean {
    return this.#authz !== undefined;
  }

  /** The engine in effect (for config dumps); undefined without policies. */
  get engine(): AuthorizationEngine | undefined {
    return this.#authz?.engine;
  }

  /**
   * Authorizes one inbound TCP connection (AuthorizationPolicy on TCP attributes; CUSTOM only with
   * an envoyExtAuthzGrpc provider). Synchronous unless a provider is asked. RequestAuthentication
   * does not apply to TCP.
   */
  checkConnection(peer: InboundConnectionPeer): ConnectionOutcome | Promise<ConnectionOutcome> {
    const authz = this.#authz;
    if (!authz) return allowedConnection;
    const socket = peer.socket;
    const request: AuthzRequest = {
      protocol: "tcp",
      sourceIp: peer.directIp ?? socket.remoteAddress ?? "",
      ...(peer.directIp !== undefined ? { remoteIp: socket.remoteAddress ?? "" } : {}),
      destinationPort: peer.destinationPort,
      ...(socket.localAddress !== undefined ? { destinationIp: socket.localAddress } : {}),
      ...(peer.principal !== undefined ? { sourcePrincipal: peer.principal } : {}),
      ...(peer.sni !== undefined ? { sni: peer.sni } : {}),
    };
    return authorizeConnection(authz, request, () => connectionCheck(peer));
  }

  /** Authenticates then authorizes one request. */
  check(head: RequestHead, peer: InboundPeer): SecurityVerdict | Promise<SecurityVerdict> {
    if (this.isEmpty) return passThrough;
    const authn = this.#authn ? this.#authn.authenticate(authnRequest(head, peer.scheme)) : undefined;
    if (authn instanceof Promise) return authn.then((result) => this.#authorize(head, peer, result));
    return this.#authorize(head, peer, authn);
  }

  #authorize(head: RequestHead, peer: InboundPeer, authn: AuthnResult | undefined): SecurityVerdict | Promise<SecurityVerdict> {
    if (authn?.type === "rejected") {
      const headers = [`www-authenticate: ${authn.wwwAuthenticate}`, "content-type: text/plain"];
      // Envoy's jwt_authn answers gRPC callers with UNAUTHENTICATED (16) for 401, PERMISSION_DENIED (7) for 403.
      return { type: "deny", by: "authn", grpcStatus: authn.status === 401 ? 16 : 7, reply: { type: "reply", status: authn.status, flag: "", body: authn.body, headers, routeName: "", details: authn.details } };
    }
    const authenticated = authn?.type === "authenticated" ? authn : undefined;
    const edits = authn?.headerEdits;
    const jwtHeaders: HeaderOps | undefined = edits && (edits.set.length > 0 || edits.remove.length > 0) ? { remove: edits.remove, set: edits.set, add: [] } : undefined;
    const target = edits?.path;
    const requestPrincipal = authenticated?.principal;
    const authz = this.#authz;
    if (!authz) return { type: "pass", requestHeaders: jwtHeaders, responseHeaders: undefined, target, requestPrincipal, audit: false };
    const path = normalizeAuthzPath(head.path);
    if (!path.ok) {
      return { type: "deny", by: "authz", grpcStatus: 3, reply: { type: "reply", status: 400, flag: "", body: "Bad Request", headers: ["content-type: text/plain"], routeName: "", details: `path_normalization_failed{${path.reason}}` } };
    }
    const request = authzRequest(head, path.path, peer, authenticated);
    // A body read ahead for the check under `Expect: 100-continue`: the sidecar answers the 100 itself
    // (readRequestBody) and does not forward the header, as Envoy does when it answers, so the
    // client never gets a second 100 from the upstream.
    let continueAnswered = false;
    const outcome = authorizeRequest(authz, request, (provider) => {
      const described = describeRequest(provider, head, path.path, peer);
      if (described instanceof Promise && head.expectContinue) continueAnswered = true;
      return described;
    });
    const verdict = (o: AuthorizeOutcome): SecurityVerdict => {
      if (o.type === "deny") {
        const headers = o.headers.map(([name, value]) => `${name}: ${value}`);
        const body = typeof o.body === "string" ? o.body : Buffer.from(o.body);
        return { type: "deny", by: "authz", grpcStatus: o.grpcStatus, reply: { type: "reply", status: o.status, flag: o.flag ?? "", body, headers, routeName: "", details: o.responseCodeDetails } };
      }
      const changes = upstreamChanges(jwtHeaders, o);
      const requestHeaders = continueAnswered ? { remove: [...(changes?.remove ?? []), "expect"], set: changes?.set ?? [], add: changes?.add ?? [] } : changes;
      const responseHeaders = o.downstreamHeaders.length === 0 && o.downstreamHeadersToSet.length === 0 ? undefined : { remove: [], set: o.downstreamHeadersToSet, add: o.downstreamHeaders };
      return { type: "pass", requestHeaders, responseHeaders, target, requestPrincipal, audit: o.decision.audit };
    };
    return outcome instanceof Promise ? outcome.then(verdict) : verdict(outcome);
  }
}

/**
 * The JWT step's header changes followed by the external authorizer's. HeaderOps remove before
 * they set, while the authorizer's removals come after every set (Envoy's order): a header the
 * authorizer removes is therefore taken out of the JWT step's sets too.
 */
function upstreamChanges(jwt: HeaderOps | undefined, o: Extract<AuthorizeOutcome, { type: "allow" }>): HeaderOps | undefined {
  if (o.upstreamHeaders.length === 0 && o.upstreamHeadersToRemove.length === 0) return jwt;
  const removed = o.upstreamHeadersToRemove;
  const jwtSet = jwt?.set ?? [];
  return {
    remove: [...(jwt?.remove ?? []), ...removed],
    set: [...(removed.length === 0 ? jwtSet : jwtSet.filter(([name]) => !removed.includes(name))), ...o.upstreamHeaders],
    add: [],
  };
}

/**
 * How the request is described to the provider asked about it: without a body, unless the
 * provider asks for one (includeRequestBodyInCheck) and the request has one — then the arrival
 * connection reads it first (not for upgrades and CONNECT, as Envoy does not buffer those).
 */
function describeRequest(provider: ExtAuthzProvider, head: RequestHead, path: string, peer: InboundPeer): ReturnType<DescribeRequest> {
  const request = checkRequest(head, path, peer);
  const settings = provider.includeRequestBodyInCheck;
  const connection = peer.connection;
  if (settings === undefined || connection?.readRequestBody === undefined || head.upgrade !== undefined || head.method === "CONNECT") return request;
  const pending = connection.readRequestBody(head, bodyReadLimit(settings));
  return pending === undefined ? request : pending.then((body) => withBody(request, settings, body));
}

/** The check request with the body read, or why the request is answered without a check. */
function withBody(request: ExternalCheckRequest, settings: ExtAuthzRequestBody, read: RequestBodyRead): ExternalCheckRequest | BodyRefusal {
  if (read.type === "failed") return { refused: "unreadable", details: read.details };
  if (isBodyTooLarge(settings, read)) return { refused: "payload-too-large" };
  return { ...request, body: read.body, bodyComplete: read.complete };
}

/** A TCP connection as a gRPC provider is told of it: its two ends, with SPIFFE IDs on mutual TLS, and the SNI. */
function connectionCheck(peer: InboundConnectionPeer): ConnectionCheckRequest {
  const socket = peer.socket;
  return {
    source: { address: socket.remoteAddress ?? "", port: socket.remotePort ?? 0, principal: peer.peerSpiffeId },
    destination: { address: socket.localAddress ?? "", port: socket.localPort ?? peer.destinationPort, principal: peer.peerSpiffeId === undefined ? undefined : peer.localSpiffeId },
    requestedServerName: peer.sni,
  };
}

/** The request as an external authorizer is told of it: the normalized path with the query; for gRPC providers also both ends of the connection. */
function checkRequest(head: RequestHead, path: string, peer: InboundPeer): ExternalCheckRequest {
  const headers = headerRecord(head);
  const connection = peer.connection;
  const socket = connection?.socket;
  const forwardedProto = headers["x-forwarded-proto"];
  return {
    method: head.method,
    path: head.query === "" ? path : `${path}?${head.query}`,
    host: head.authority,
    headers,
    // Envoy's :scheme: the scheme an edge proxy (a gateway) set, else x-forwarded-proto when it names one, else the connection's (mutual TLS: https).
    scheme: peer.scheme ?? (forwardedProto === "http" || forwardedProto === "https" ? forwardedProto : peer.principal !== undefined ? "https" : "http"),
    protocol: connection?.protocol,
    source: { address: socket?.remoteAddress ?? peer.sourceIp, port: socket?.remotePort ?? 0, principal: peer.principal === undefined ? undefined : `spiffe://${peer.principal}` },
    destination: socket?.localAddress === undefined ? undefined : { address: socket.localAddress, port: socket.localPort ?? peer.destinationPort, principal: peer.principal === undefined ? undefined : peer.localSpiffeId },
  };
}

function authnRequest(head: RequestHead, scheme: string | undefined): AuthnRequest {
  const headers = headerRecord(head);
  return {
    header: (name) => headers[name],
    path: head.query === "" ? head.path : `${head.path}?${head.query}`,
    method: head.method,
    authority: head.authority,
    ...(scheme !== undefined ? { scheme } : {}),
  };
}

function authzRequest(head: RequestHead, path: string, peer: InboundPeer, authn: Extract<AuthnResult, { type: "authenticated" }> | undefined): AuthzRequest {
  const headers = headerRecord(head);
  return {
    protocol: "http",
    host: head.authority,
    method: head.method,
    path,
    headers: (name) => headers[name],
    sourceIp: peer.sourceIp,
    destinationPort: peer.destinationPort,
    ...(peer.remoteIp !== undefined ? { remoteIp: peer.remoteIp } : {}),
    ...(peer.principal !== undefined ? { sourcePrincipal: peer.principal } : {}),
    ...(peer.sni !== undefined ? { sni: peer.sni } : {}),
    ...(authn ? { requestAuth: { claims: authn.claims } } : {}),
  };
}

/** The inbound forward decision with the verdict applied: a denial's local reply, or the forward with the verdict's header and target changes. */
export function applyVerdict(forward: ForwardDecision, verdict: SecurityVerdict): Decision {
  if (verdict.type === "deny") return verdict.reply;
  if (verdict.requestHeaders === undefined && verdict.responseHeaders === undefined && verdict.target === undefined) return forward;
  return {
    ...forward,
    ...(verdict.target !== undefined ? { target: verdict.target } : {}),
    requestHeaders: verdict.requestHeaders ? [...forward.requestHeaders, verdict.requestHeaders] : forward.requestHeaders,
    responseHeaders: verdict.responseHeaders ? [...forward.responseHeaders, verdict.responseHeaders] : forward.responseHeaders,
  };
}
