// The inbound ports of a proxy under its Sidecar resource (Istio's SidecarScope for inbound):
// with `ingress` listeners, exactly those ports — each listening on its port number and
// forwarding to its defaultEndpoint — replace the ports derived from the workload's services;
// `inboundConnectionPool` (else a listener's own `connectionPool`) limits the inbound cluster.
// Pure: computed once per config, the sidecar reads the fields as they are.
import type { MeshResource } from "@meshwork/config";
import { poolOf } from "../compile-clusters.ts";
import { serverTls } from "../gateway/gateway-listeners.ts";
import { portProtocol } from "../port-protocol.ts";
import type { ClusterProtocol, InboundPort } from "../proxy-config.ts";

type IngressListener = NonNullable<MeshResource<"Sidecar">["spec"]["ingress"]>[number];

/**
 * The inbound ports of a proxy `sidecar` applies to, given the ports its services give it
 * (`derived`): without ingress listeners `derived` as they are (with inboundConnectionPool, when
 * set, as their cluster's limits), else one port per ingress listener in order. A listener's
 * `host` is the service host of the derived port with the same number (else the first one's):
 * telemetry's destination_service. Problems that leave a listener unserved are in `issues`.
 */
export function sidecarInboundPorts(
  sidecar: MeshResource<"Sidecar"> | undefined,
  derived: readonly InboundPort[],
): { readonly ports: readonly InboundPort[]; readonly issues: readonly string[] } {
  const shared = sidecar?.spec.inboundConnectionPool;
  const ingress = sidecar?.spec.ingress ?? [];
  if (ingress.length === 0) {
    return { ports: shared === undefined ? derived : derived.map((port) => ({ ...port, connectionPool: poolOf(shared) })), issues: [] };
  }
  const issues: string[] = [];
  const where = `Sidecar "${sidecar?.metadata.namespace ?? ""}/${sidecar?.metadata.name ?? ""}"`;
  const ports: InboundPort[] = [];
  ingress.forEach((listener, index) => {
    const port = ingressPort(listener, derived, shared);
    if (typeof port === "string") issues.push(`${where} ingress[${index}]: ${port}; the listener is not served`);
    else ports.push(port);
  });
  return { ports, issues };
}

function ingressPort(listener: IngressListener, derived: readonly InboundPort[], shared: IngressListener["connectionPool"]): InboundPort | string {
  const number = listener.port.number ?? 0;
  const endpoint = parseDefaultEndpoint(listener.defaultEndpoint, number);
  const name = listener.port.name ?? `${(listener.port.protocol ?? "tcp").toLowerCase()}-${number}`;
  let protocol: ClusterProtocol = portProtocol(listener.port.protocol, listener.port.name);
  let tls: InboundPort["tls"];
  if (listener.tls !== undefined) {
    const terminated = serverTls(listener.port.protocol ?? "HTTPS", listener.tls);
    if (typeof terminated === "string") return terminated;
    tls = terminated;
    // The sidecar terminates TLS: what the application gets is HTTP (an HTTPS port) or TCP (a TLS port).
    protocol = protocol === "tls" && (listener.port.protocol ?? "").toUpperCase() === "TLS" ? "tcp" : protocol === "tls" ? "http" : protocol;
  }
  const pool = listener.connectionPool ?? shared;
  return {
    port: number,
    targetPort: endpoint.port,
    portName: name,
    protocol,
    // Istio names a Sidecar ingress listener's cluster after the listener's port.
    cluster: `inbound|${number}||`,
    host: (derived.find((p) => p.port === number || p.targetPort === number) ?? derived[0])?.host ?? "",
    listenPort: number,
    ...(listener.bind !== undefined && listener.bind !== "" ? { bind: listener.bind } : {}),
    ...(endpoint.host !== undefined ? { endpointHost: endpoint.host } : {}),
    ...(tls !== undefined ? { tls } : {}),
    ...(pool !== undefined ? { connectionPool: poolOf(pool) } : {}),
  };
}

/**
 * A validated defaultEndpoint as the host and port the sidecar connects to: `127.0.0.1:8080` and
 * `[::1]:8080` as written; the wildcards `0.0.0.0:8080` / `[::]:8080` (Istio: the instance IP)
 * leave the host to the sidecar's application address; `unix:///path` is the host, port 0. Unset:
 * the application on the listener's own port.
 */
export function parseDefaultEndpoint(endpoint: string | undefined, listenerPort: number): { readonly host: string | undefined; readonly port: number } {
  if (endpoint === undefined || endpoint === "") return { host: undefined, port: listenerPort };
  if (endpoint.startsWith("unix://")) return { host: endpoint, port: 0 };
  const colon = endpoint.lastIndexOf(":");
  const host = endpoint.slice(0, colon).replace(/^\[(.*)\]$/, "$1");
  const port = Number(endpoint.slice(colon + 1));
  return { host: host === "" || host === "0.0.0.0" || host === "::" ? undefined : host, port };
}
