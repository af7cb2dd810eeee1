// The CUSTOM action's external authorizer client over HTTP, as Envoy's ext_authz filter talks to
// an Istio `envoyExtAuthzHttp` provider: a check request with the original method, pathPrefix +
// path and the selected headers, bodiless unless the provider asks for the request's body
// (includeRequestBodyInCheck: its first maxRequestBytes, flagged partial or not); 200 allows (with headers for the upstream and the
// client), any other status denies with the authorizer's status, body and headers, and a failure
// (unreachable, timeout, 5xx) denies with statusOnError unless failOpen. The request and result
// types are shared with the gRPC provider's client (ext-authz-grpc-client.ts).
import { request as httpRequest, type IncomingHttpHeaders } from "node:http";
import { externalAuthzDeniedFlag } from "@meshwork/proxy-core";
import type { ExtAuthzHttpProvider, ExtAuthzProvider, HeaderNamePatterns } from "./mesh-authz-config.ts";
import { bodyInCheck, partialBodyHeader } from "./request-body-check.ts";

/** What the check needs of the original request. Header names in lower case; repeated headers joined with ",". */
export interface ExternalCheckRequest {
  readonly method: string;
  /** Path with query, as received (after normalization). */
  readonly path: string;
  /** `:authority` / Host. */
  readonly host: string;
  readonly headers: Readonly<Record<string, string>>;
  // Read by gRPC providers only (Envoy's AttributeContext); what is absent stays empty in the check.
  /** The client end of the connection; its principal the peer's verified SPIFFE ID (`spiffe://…`) on mutual TLS. */
  readonly source?: CheckPeer | undefined;
  /** This proxy's end of the connection; its principal our own SPIFFE ID on mutual TLS. */
  readonly destination?: CheckPeer | undefined;
  /** `http` or `https` (Envoy's `:scheme`). */
  readonly scheme?: string | undefined;
  /** `HTTP/1.1` or `HTTP/2`. */
  readonly protocol?: "HTTP/1.1" | "HTTP/2" | undefined;
  /** When the request arrived (ms since the epoch); default the time of the check. */
  readonly receivedAtMs?: number | undefined;
  /** The request body read so far (at most the provider's includeRequestBodyInCheck.maxRequestBytes are sent); undefined: none. */
  readonly body?: Buffer | undefined;
  /** Whether `body` is all of the body (false: the rest was not read). */
  readonly bodyComplete?: boolean | undefined;
}

/**
 * What the check of a TCP connection carries (Envoy's network ext_authz filter, createTcpCheck):
 * the connection's two ends and nothing of a request. Asked of envoyExtAuthzGrpc providers only.
 */
export interface ConnectionCheckRequest {
  /** The client end; its principal the peer's verified SPIFFE ID on mutual TLS. */
  readonly source: CheckPeer;
  /** This proxy's end; its principal our own SPIFFE ID on mutual TLS. */
  readonly destination: CheckPeer | undefined;
  /** The SNI the client's TLS asked for; Envoy sends it as the destination's service. Undefined without TLS. */
  readonly requestedServerName?: string | undefined;
}

/** One end of the request's connection, as AttributeContext.Peer describes it. */
export interface CheckPeer {
  readonly address: string;
  readonly port: number;
  /** The URI SAN of the end's certificate (`spiffe://cluster.local/ns/x/sa/y`); undefined on plain text. */
  readonly principal?: string | undefined;
}

export type HeaderList = readonly (readonly [string, string])[];

export type ExternalCheckResult =
  | {
      readonly allowed: true;
      /** Headers to set on the upstream request (headersToUpstreamOnAllow; a gRPC provider's ok_response.headers), replacing same-named ones. */
      readonly upstreamHeaders: HeaderList;
      /** Headers to remove from the upstream request (a gRPC provider's headers_to_remove), never one of upstreamHeaders. */
      readonly upstreamHeadersToRemove: readonly string[];
      /** Headers to add to the response to the client (headersToDownstreamOnAllow; a gRPC provider's response_headers_to_add). */
      readonly downstreamHeaders: HeaderList;
      /** Headers to set on the response to the client, replacing same-named ones (a gRPC provider's response_headers_to_add with overwrite). */
      readonly downstreamHeadersToSet: HeaderList;
      /** Set when the authorizer failed and the provider is failOpen. */
      readonly failedOpen?: string;
    }
  | {
      readonly allowed: false;
      /** The authorizer's status on a denial; statusOnError when it failed. */
      readonly status: number;
      readonly headers: HeaderList;
      readonly body: Buffer;
      /** Envoy's response flag for the access log. */
      readonly flag: typeof externalAuthzDeniedFlag;
      /** The authorizer failed (unreachable, timeout, 5xx, a failed RPC) rather than denied. */
      readonly failed: boolean;
      /** For logs: "denied by <provider> with 401", or the failure. */
      readonly reason: string;
    };

/**
 * A client of one extension provider that keeps its connection from check to check (the
 * envoyExtAuthzGrpc client holds a gRPC channel). Whoever creates one closes it.
 */
export interface ExternalAuthorizer {
  /** Asks the provider about one request. Never rejects: failures become statusOnError (or an allow when failOpen). */
  check(request: ExternalCheckRequest, options?: { readonly signal?: AbortSignal }): Promise<ExternalCheckResult>;
  /**
   * Asks the provider about one TCP connection (Envoy's network ext_authz). Never rejects: only
   * `allowed` matters (a denial or failure closes the connection; a failure allows when failOpen).
   */
  checkConnection(request: ConnectionCheckRequest, options?: { readonly signal?: AbortSignal }): Promise<ExternalCheckResult>;
  /** Closes the connection; later checks fail. */
  close(): void;
}

export interface CheckExternalOptions {
  /** Where to connect; default the provider's service and port (which must then resolve by DNS). */
  readonly address?: { readonly host: string; readonly port: number };
  /** Aborts the check (e.g. the client went away); the result is then a failure. */
  readonly signal?: AbortSignal;
}

const noHeaders: HeaderList = [];
const noNames: readonly string[] = [];

/** Largest authorizer body relayed to the client on a denial. */
export const maxRelayedBodyBytes = 64 * 1024;
/** Never relayed from the authorizer's response: framing and hop-by-hop headers, and Host. */
const neverRelayed = new Set(["host", "content-length", "transfer-encoding", "connection", "keep-alive", "upgrade", "te", "trailer", "proxy-connection"]);

/** Whether an authorizer's header (lower-case name) may be passed to the upstream or the client: not Host, framing or hop-by-hop. */
export function isRelayableHeader(lowerName: string): boolean {
  return !neverRelayed.has(lowerName);
}

/**
 * Asks `provider` about one request. Never rejects: failures become a denial with statusOnError
 * (or an allow when failOpen), as Envoy's ext_authz filter behaves.
 */
export async function checkExternal(
  provider: ExtAuthzHttpProvider,
  request: ExternalCheckRequest,
  options: CheckExternalOptions = {},
): Promise<ExternalCheckResult> {
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(request.headers)) {
    const lower = name.toLowerCase();
    // A client's own partial-body header is never passed on (Envoy skips it: it is the proxy's to set).
    if (!neverRelayed.has(lower) && lower !== partialBodyHeader && matchesAny(lower, provider.includeRequestHeadersInCheck)) headers[lower] = value;
  }
  for (const [name, value] of Object.entries(provider.includeAdditionalHeadersInCheck)) headers[name.toLowerCase()] = value;
  headers["host"] = request.host;
  // The body the provider asked for is the check's body (Content-Length its size); packAsBytes is
  // the gRPC providers' (Istio: no effect on envoyExtAuthzHttp). A request without one sends none.
  const settings = provider.includeRequestBodyInCheck;
  let body: Buffer | undefined;
  if (settings !== undefined && request.body !== undefined) {
    const sent = bodyInCheck(settings, { body: request.body, complete: request.bodyComplete !== false });
    body = sent.bytes;
    headers[partialBodyHeader] = sent.partial ? "true" : "false";
  }
  headers["content-length"] = String(body?.length ?? 0);

  const outcome = await send(provider, request, { headers, body }, options);
  if (outcome.type === "failed") return externalCheckFailure(provider, outcome.reason);
  if (outcome.status >= 500) return externalCheckFailure(provider, `${provider.name} answered ${outcome.status}`);
  if (outcome.status === 200) {
    return {
      allowed: true,
      upstreamHeaders: pick(outcome.headers, provider.headersToUpstreamOnAllow),
      upstreamHeadersToRemove: noNames,
      downstreamHeaders: pick(outcome.headers, provider.headersToDownstreamOnAllow),
      downstreamHeadersToSet: noHeaders,
    };
  }
  const relayed = provider.headersToDownstreamOnDeny === undefined ? allRelayable(outcome.headers) : pick(outcome.headers, provider.headersToDownstreamOnDeny);
  return {
    allowed: false,
    status: outcome.status,
    headers: relayed,
    body: outcome.body,
    flag: externalAuthzDeniedFlag,
    failed: false,
    reason: `denied by ${provider.name} with ${outcome.status}`,
  };
}

type SendOutcome = { type: "response"; status: number; headers: IncomingHttpHeaders; body: Buffer } | { type: "failed"; reason: string };

function send(provider: ExtAuthzHttpProvider, request: ExternalCheckRequest, check: { readonly headers: Record<string, string>; readonly body: Buffer | undefined }, options: CheckExternalOptions): Promise<SendOutcome> {
  return new Promise((resolve) => {
    let settled = false;
    const finish = (outcome: SendOutcome): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      options.signal?.removeEventListener("abort", onAbort);
      resolve(outcome);
    };
    const req = httpRequest({
      host: options.address?.host ?? provider.service,
      port: options.address?.port ?? provider.port,
      method: request.method,
      path: provider.pathPrefix + request.path,
      headers: check.headers,
      agent: false,
    });
    const timer = setTimeout(() => {
      finish({ type: "failed", reason: `${provider.name} did not answer within ${provider.timeoutMs} ms` });
      req.destroy();
    }, provider.timeoutMs);
    const onAbort = (): void => {
      finish({ type: "failed", reason: "the check was aborted" });
      req.destroy();
    };
    if (options.signal?.aborted) {
      onAbort();
      return;
    }
    options.signal?.addEventListener("abort", onAbort, { once: true });
    req.on("error", (err) => finish({ type: "failed", reason: `${provider.name} unreachable: ${err.message}` }));
    req.on("response", (res) => {
      const chunks: Buffer[] = [];
      let size = 0;
      res.on("data", (chunk: Buffer) => {
        size += chunk.length;
        if (size <= maxRelayedBodyBytes) chunks.push(chunk);
      });
      res.on("error", (err) => finish({ type: "failed", reason: `${provider.name} response failed: ${err.message}` }));
      res.on("end", () => finish({ type: "response", status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }));
    });
    req.end(check.body);
  });
}

/** What a failed check (unreachable, timeout, 5xx, a failed RPC) means for either kind of provider: statusOnError, or an allow when failOpen (Envoy's failure_mode_allow). */
export function externalCheckFailure(provider: ExtAuthzProvider, reason: string): ExternalCheckResult {
  if (provider.failOpen) return { allowed: true, upstreamHeaders: noHeaders, upstreamHeadersToRemove: noNames, downstreamHeaders: noHeaders, downstreamHeadersToSet: noHeaders, failedOpen: reason };
  return { allowed: false, status: provider.statusOnError, headers: noHeaders, body: Buffer.alloc(0), flag: externalAuthzDeniedFlag, failed: true, reason };
}

/** MeshConfig header patterns: exact, "prefix*", "*suffix", case-insensitive (no presence match). */
export function matchesAny(lowerName: string, patterns: HeaderNamePatterns): boolean {
  for (const raw of patterns) {
    const p = raw.toLowerCase();
    if (p.length > 1 && p.endsWith("*") ? lowerName.startsWith(p.slice(0, -1)) : p.length > 1 && p.startsWith("*") ? lowerName.endsWith(p.slice(1)) : lowerName === p) return true;
  }
  return false;
}

function pick(headers: IncomingHttpHeaders, patterns: HeaderNamePatterns): HeaderList {
  const out: [string, string][] = [];
  for (const [name, value] of Object.entries(headers)) {
    if (value === undefined || neverRelayed.has(name) || !matchesAny(name, patterns)) continue;
    for (const v of Array.isArray(value) ? value : [value]) out.push([name, v]);
  }
  return out;
}

function allRelayable(headers: IncomingHttpHeaders): HeaderList {
  const out: [string, string][] = [];
  for (const [name, value] of Object.entries(headers)) {
    if (value === undefined || neverRelayed.has(name)) continue;
    for (const v of Array.isArray(value) ? value : [value]) out.push([name, v]);
  }
  return out;
}
