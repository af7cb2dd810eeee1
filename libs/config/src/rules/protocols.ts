// Port protocols as Istio names them (istio/istio pkg/config/protocol), compared case-insensitively
// as Istio does, and the families the rules reason about: HTTP (the proxy parses requests) and TLS.
import type { FieldIssue, FieldPath } from "../field-issue.ts";
import { closestName } from "../closest-name.ts";

/** Port protocols Istio understands. */
export const knownProtocols = ["HTTP", "HTTPS", "HTTP2", "HTTP_PROXY", "GRPC", "GRPC-WEB", "TCP", "TLS", "UDP", "MONGO", "REDIS", "MYSQL"] as const;

const httpProtocols = new Set(["HTTP", "HTTP2", "HTTP_PROXY", "GRPC", "GRPC-WEB"]);
const tlsProtocols = new Set(["HTTPS", "TLS"]);

/** A problem with a port `protocol` (unset means sniffing and is fine), or undefined. */
export function protocolIssue(protocol: string | undefined, path: FieldPath): FieldIssue | undefined {
  if (protocol === undefined || protocol === "") return undefined;
  if ((knownProtocols as readonly string[]).includes(protocol.toUpperCase())) return undefined;
  const near = closestName(protocol, knownProtocols);
  return {
    path,
    message: `"${protocol}" is not a protocol Istio knows`,
    hint: near !== undefined ? `did you mean ${near}?` : `use one of ${knownProtocols.join(", ")}`,
  };
}

/** The proxy handles the port's traffic as HTTP requests (HTTP/1.1, HTTP/2, gRPC); false when unset. */
export function isHttpProtocol(protocol: string | undefined): boolean {
  return httpProtocols.has((protocol ?? "").toUpperCase());
}

/** The port carries TLS (HTTPS, or TLS with SNI); false when unset. */
export function isTlsProtocol(protocol: string | undefined): boolean {
  return tlsProtocols.has((protocol ?? "").toUpperCase());
}
