// Header blocks across protocols: the request headers sent upstream over HTTP/2 or HTTP/1.1
// from an HTTP/2 request (connection-specific fields dropped, RFC 9113 §8.2.2; route header
// operations applied), and the response headers and trailers sent back to an HTTP/2 client.
import type { IncomingHttpHeaders, OutgoingHttpHeaders } from "node:http2";
import type { HeaderOps } from "@meshwork/proxy-core";
import { PEER_METADATA_HEADER, PEER_METADATA_ID_HEADER } from "../proxy/peer-metadata.ts";
import { TRACE_HEADER_NAMES } from "../telemetry/trace-context.ts";

/** Fields HTTP/2 forbids (RFC 9113 §8.2.2) or that describe one HTTP/1.1 connection. */
export const connectionSpecific: ReadonlySet<string> = new Set(["connection", "proxy-connection", "keep-alive", "transfer-encoding", "upgrade", "te", "host", "http2-settings"]);

const traceHeaders = new Set(TRACE_HEADER_NAMES);

/** Istio's metadata exchange: between sidecars only, never forwarded to an app (a client sidecar replaces them with its own). */
const peerMetadata = new Set([PEER_METADATA_HEADER, PEER_METADATA_ID_HEADER]);

export interface UpstreamRequestParts {
  readonly method: string;
  /** Path and query to send. */
  readonly target: string;
  readonly authority: string;
  readonly ops: readonly HeaderOps[];
  /** `name: value\r\n` lines the environment adds (request id, trace context); when non-empty, the received trace headers are dropped (the proxy's span replaces them, as Exchange does). */
  readonly extraLines: string;
  /** x-envoy-expected-rq-timeout-ms value, when the route has a timeout. */
  readonly expectedTimeoutMs: number | undefined;
  /** This sidecar's metadata-exchange lines (outbound). */
  readonly metadataLines?: string | undefined;
}

/**
 * Headers for the upstream request. `http2` = pseudo-headers and `te: trailers` kept (gRPC needs
 * it); otherwise a `host` header and no pseudo-headers, for node:http.
 */
export function upstreamRequestHeaders(received: IncomingHttpHeaders, parts: UpstreamRequestParts, http2: boolean): OutgoingHttpHeaders {
  const out: OutgoingHttpHeaders = http2
    ? { ":method": parts.method, ":path": parts.target, ":authority": parts.authority, ":scheme": "http" }
    : { host: parts.authority };
  const replaceTrace = parts.extraLines !== "";
  for (const name in received) {
    if (name.charCodeAt(0) === 58 /* ":" */) continue;
    if ((replaceTrace && traceHeaders.has(name)) || peerMetadata.has(name)) continue;
    if (connectionSpecific.has(name)) {
      if (name === "te" && http2 && received.te === "trailers") out.te = "trailers";
      continue;
    }
    out[name] = received[name];
  }
  if (parts.extraLines !== "") addLines(out, parts.extraLines);
  if (parts.metadataLines !== undefined) addLines(out, parts.metadataLines);
  if (parts.expectedTimeoutMs !== undefined) out["x-envoy-expected-rq-timeout-ms"] = String(parts.expectedTimeoutMs);
  if (parts.ops.length > 0) applyHeaderOpsTo(out, parts.ops);
  return out;
}

/** Response headers for the HTTP/2 client: `:status`, the upstream's fields minus connection-specific ones, `ops`, and x-envoy-upstream-service-time. */
export function downstreamResponseHeaders(status: number, received: IncomingHttpHeaders, ops: readonly HeaderOps[], serviceTimeMs: number): OutgoingHttpHeaders {
  const out: OutgoingHttpHeaders = { ":status": status };
  for (const name in received) {
    if (name.charCodeAt(0) === 58 || connectionSpecific.has(name) || peerMetadata.has(name)) continue;
    out[name] = received[name];
  }
  if (ops.length > 0) applyHeaderOpsTo(out, ops);
  out["x-envoy-upstream-service-time"] = String(serviceTimeMs);
  return out;
}

/** Trailers to forward: the upstream's, without pseudo-headers and connection-specific fields. */
export function forwardedTrailers(received: IncomingHttpHeaders): OutgoingHttpHeaders {
  const out: OutgoingHttpHeaders = {};
  for (const name in received) {
    if (name.charCodeAt(0) === 58 || connectionSpecific.has(name)) continue;
    out[name] = received[name];
  }
  return out;
}

/** Applies header operations in Envoy's order (remove, set, add) to a header object, in place. */
export function applyHeaderOpsTo(headers: OutgoingHttpHeaders, ops: readonly HeaderOps[]): void {
  for (const op of ops) for (const name of op.remove) delete headers[name];
  for (const op of ops) for (const [name, value] of op.set) headers[name] = value;
  for (const op of ops) {
    for (const [name, value] of op.add) {
      const previous = headers[name];
      if (previous === undefined) headers[name] = value;
      else headers[name] = Array.isArray(previous) ? [...previous, value] : [String(previous), value];
    }
  }
}

/** Adds `name: value\r\n` lines to a header object (later values of a name replace earlier ones). */
function addLines(headers: OutgoingHttpHeaders, lines: string): void {
  let at = 0;
  while (at < lines.length) {
    let end = lines.indexOf("\r\n", at);
    if (end < 0) end = lines.length;
    const colon = lines.indexOf(":", at);
    if (colon > at && colon < end) headers[lines.slice(at, colon).trim().toLowerCase()] = lines.slice(colon + 1, end).trim();
    at = end + 2;
  }
}
