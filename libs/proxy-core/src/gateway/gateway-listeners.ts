// Router mode (the ingress gateway, Istio's `proxy router`): which ports a gateway proxy listens
// on and, per port, the Gateway servers that accept traffic there. A Gateway applies to every
// proxy whose labels its `selector` matches, in any namespace (Istio's default,
// PILOT_SCOPE_GATEWAY_TO_NAMESPACE=false); an empty selector matches none (Istio requires one to
// bind). Pure: computed once per config.
import type { MeshResource } from "@meshwork/config";

/** One Gateway server bound to a port: the gateway's routes apply to requests whose host it lists. */
export interface GatewayServer {
  /** `namespace/name` of the Gateway: the key of its routes in RouteTable.gateways. */
  readonly gateway: string;
  /** The server's hosts without their namespace part (`*`, `*.example.com`, `bookinfo.example.com`), lowercase. */
  readonly hosts: readonly string[];
  /** Index of the server in the Gateway (for logs). */
  readonly server: number;
}

/** A port the gateway proxy listens on. */
export interface GatewayListener {
  readonly port: number;
  /** The protocol as the servers declare it (upper case); all servers on a port must agree. */
  readonly protocol: string;
  readonly servers: readonly GatewayServer[];
}

export interface GatewayListenersResult {
  /** By port, ascending. */
  readonly listeners: readonly GatewayListener[];
  /** Servers left out, with the reason (conflicting protocols on a port; a protocol router mode does not serve). */
  readonly issues: readonly string[];
}

/** Protocols router mode serves today: plain HTTP/1.1 and h2c. */
const servedProtocols = new Set(["HTTP", "HTTP2", "GRPC", "GRPC-WEB"]);

/** The listeners of a gateway proxy with `labels`, from every Gateway selecting it. */
export function gatewayListeners(gateways: readonly MeshResource<"Gateway">[], labels: Readonly<Record<string, string>>): GatewayListenersResult {
  const byPort = new Map<number, { protocol: string; servers: GatewayServer[] }>();
  const issues: string[] = [];
  for (const gateway of gateways) {
    const selector = gateway.spec.selector ?? {};
    const keys = Object.keys(selector);
    if (keys.length === 0 || !keys.every((k) => labels[k] === selector[k])) continue;
    const name = `${gateway.metadata.namespace ?? "default"}/${gateway.metadata.name}`;
    gateway.spec.servers.forEach((server, index) => {
      const protocol = server.port.protocol.toUpperCase();
      const where = `Gateway ${name} servers[${index}] (port ${server.port.number})`;
      if (!servedProtocols.has(protocol)) {
        issues.push(`${where}: protocol ${protocol} is not served in router mode yet (HTTP, HTTP2, GRPC, GRPC-WEB are); the server is ignored`);
        return;
      }
      const existing = byPort.get(server.port.number);
      if (existing && existing.protocol !== protocol) {
        issues.push(`${where}: protocol ${protocol} conflicts with ${existing.protocol} already bound to port ${server.port.number}; the server is ignored`);
        return;
      }
      const entry = existing ?? { protocol, servers: [] };
      entry.servers.push({ gateway: name, hosts: server.hosts.map(hostPart), server: index });
      byPort.set(server.port.number, entry);
    });
  }
  const listeners = [...byPort.entries()].sort(([a], [b]) => a - b).map(([port, entry]) => ({ port, protocol: entry.protocol, servers: entry.servers }));
  return { listeners, issues };
}

/** `ns/host`, `./host`, `*\/host` → `host`, lowercase. */
function hostPart(host: string): string {
  const slash = host.indexOf("/");
  return (slash < 0 ? host : host.slice(slash + 1)).toLowerCase();
}

/** Whether a server host pattern (`*`, `*.example.com`, exact) admits `authority` (port stripped, lowercase). */
export function serverAdmitsHost(hosts: readonly string[], authority: string): boolean {
  const colon = authority.lastIndexOf(":");
  const host = (colon > 0 && authority.lastIndexOf("]") < colon ? authority.slice(0, colon) : authority).toLowerCase();
  for (const pattern of hosts) {
    if (pattern === "*" || pattern === host) return true;
    if (pattern.startsWith("*.") && host.endsWith(pattern.slice(1))) return true;
  }
  return false;
}
