// The application protocol of a service port, as Istio decides it: the explicit `protocol`
// field first, else the port name's prefix (`http-web`, `grpc`, `tcp-db`).
import type { ClusterProtocol } from "./proxy-config.ts";

const byProtocol: Readonly<Record<string, ClusterProtocol>> = {
  HTTP: "http",
  HTTP2: "http2",
  GRPC: "grpc",
  "GRPC-WEB": "grpc",
  HTTPS: "tls",
  TLS: "tls",
  TCP: "tcp",
  MONGO: "tcp",
  MYSQL: "tcp",
  REDIS: "tcp",
};

/** `protocol` (case-insensitive) wins; else the name up to its first `-` (`http2-api` → http2); else `unknown` (sniffed). */
export function portProtocol(protocol: string | undefined, name: string | undefined): ClusterProtocol {
  if (protocol !== undefined && protocol !== "") return byProtocol[protocol.toUpperCase()] ?? "unknown";
  if (name === undefined) return "unknown";
  const dash = name.indexOf("-");
  const prefix = (dash < 0 ? name : name.slice(0, dash)).toUpperCase();
  return byProtocol[prefix] ?? "unknown";
}
