// The CheckRequest an envoyExtAuthzGrpc provider is sent, as Envoy's ext_authz filter builds it
// (source/extensions/filters/common/ext_authz/check_request_utils.cc, createHttpCheck): the
// connection's two ends with their SPIFFE IDs, the request time, and the HTTP request — Envoy's
// stream id, method, path, host, scheme, protocol, size and every header (pseudo-headers
// included, names in lower case, repeated headers joined with ","), with the body when the
// provider asks for it. Context extensions and metadata context are empty (Istio sets none).
// Pure: the clock and the id come from the caller.
import type { ExtAuthzCheckRequest, ExtAuthzPeer } from "@meshwork/protocol";
import type { CheckPeer, ExternalCheckRequest } from "./check-external.ts";
import type { ExtAuthzGrpcProvider } from "./mesh-authz-config.ts";
import { bodyInCheck, partialBodyHeader } from "./request-body-check.ts";

export interface CheckRequestContext {
  /** Now, ms since the epoch: the request time when the request does not say when it arrived. */
  readonly nowMs: number;
  /** Envoy's stream id, a decimal uint64 (HttpRequest.id). */
  readonly id: string;
}

/**
 * Request headers the authorizer does not see: Envoy drops a client's own partial-body header,
 * and Istio's metadata exchange filter takes its headers out before ext_authz runs.
 */
const hiddenHeaders = new Set([partialBodyHeader, "x-envoy-peer-metadata", "x-envoy-peer-metadata-id"]);

/** Builds the CheckRequest for `request`; the message is the caller's (ts-proto's plain object). */
export function buildCheckRequest(provider: ExtAuthzGrpcProvider, request: ExternalCheckRequest, context: CheckRequestContext): ExtAuthzCheckRequest {
  const scheme = request.scheme ?? "http";
  // Envoy's header map holds the pseudo-headers too; Host is its :authority.
  const headers: Record<string, string> = { ":authority": request.host, ":method": request.method, ":path": request.path, ":scheme": scheme };
  for (const [name, value] of Object.entries(request.headers)) {
    const lower = name.toLowerCase();
    if (lower === "host" || lower.charCodeAt(0) === 58 /* ":" */ || hiddenHeaders.has(lower)) continue;
    const previous = headers[lower];
    headers[lower] = previous === undefined ? value : `${previous},${value}`;
  }
  let body = "";
  let rawBody = Buffer.alloc(0);
  const settings = provider.includeRequestBodyInCheck;
  if (settings !== undefined && request.body !== undefined) {
    const sent = bodyInCheck(settings, { body: request.body, complete: request.bodyComplete !== false });
    if (settings.packAsBytes) rawBody = Buffer.from(sent.bytes);
    else body = sent.bytes.toString("utf8");
    headers[partialBodyHeader] = sent.partial ? "true" : "false";
  }
  const service = request.headers["x-envoy-downstream-service-cluster"] ?? "";
  return {
    attributes: {
      source: peerAttributes(request.source, service),
      destination: peerAttributes(request.destination, ""),
      request: {
        time: new Date(request.receivedAtMs ?? context.nowMs),
        http: {
          id: context.id,
          method: request.method,
          headers,
          path: request.path,
          host: request.host,
          scheme,
          query: "",
          fragment: "",
          // Envoy's bytesReceived: the body bytes read when the check starts.
          size: request.body?.length ?? 0,
          protocol: request.protocol ?? "",
          body,
          rawBody,
        },
      },
      contextExtensions: {},
      metadataContext: { filterMetadata: {} },
    },
  };
}

/** AttributeContext.Peer of one end of the connection; `service` as Envoy fills it (the downstream cluster, or the SNI on TCP). */
export function peerAttributes(end: CheckPeer | undefined, service: string): ExtAuthzPeer | undefined {
  if (end === undefined) return undefined;
  return {
    address: { socketAddress: { protocol: 0, address: end.address, portValue: end.port } },
    service,
    labels: {},
    principal: end.principal ?? "",
    certificate: "",
  };
}
