// The CheckRequest an envoyExtAuthzGrpc provider is sent about a TCP connection, as Envoy's network
// ext_authz filter builds it (check_request_utils.cc, createTcpCheck): the connection's two ends
// with their SPIFFE IDs, the SNI as the destination's service, and no request attributes (no
// time, no HTTP). Pure.
import type { ExtAuthzCheckRequest } from "@meshwork/protocol";
import { peerAttributes } from "./build-check-request.ts";
import type { ConnectionCheckRequest } from "./check-external.ts";

/** Builds the CheckRequest for one TCP connection; the message is the caller's (ts-proto's plain object). */
export function buildConnectionCheckRequest(request: ConnectionCheckRequest): ExtAuthzCheckRequest {
  return {
    attributes: {
      source: peerAttributes(request.source, ""),
      destination: peerAttributes(request.destination, request.requestedServerName ?? ""),
      request: undefined,
      contextExtensions: {},
      metadataContext: undefined,
    },
  };
}
