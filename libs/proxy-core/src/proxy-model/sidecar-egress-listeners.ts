// The outbound listeners a Sidecar resource asks the sidecar to open itself (Istio's egress
// listeners with bindToPort: `captureMode: NONE` or a `bind`): applications that are not captured
// by iptables dial them directly, e.g. `127.0.0.1:9080`. Each serves only the services its egress
// listener imports on its port — the service ports on that port, since a listener with a port is
// the only one importing there (egressScope). HTTP listeners route by Host through a route-table
// gateway of their own holding just those hosts' virtual hosts; a TCP listener proxies to the
// first imported service (Istio merges the TCP filter chains of a bound listener and keeps the
// first of identical matches, reporting the others as conflicts). Pure: computed once per config.
import type { MeshResource } from "@meshwork/config";
import { portProtocol } from "../port-protocol.ts";
import type { ServicePort } from "../proxy-config.ts";
import { domainAliases, type HostContext } from "../resolve-host.ts";
import type { GatewayRoutes, RouteTable, VirtualHost } from "../route-table.ts";

/** What a Sidecar says about one explicit egress listener (pushed as is in the outbound listener body). */
export interface EgressListenerSpec {
  /** The address to listen on: the listener's `bind`, else Istio's default for captureMode NONE, 127.0.0.1. */
  readonly bind: string;
  readonly port: number;
  /** `port.protocol` as written; absent: sniffed in Istio, decided here by the imported ports. */
  readonly protocol?: string;
  /** `port.name` as written (its prefix gives the protocol when `protocol` is unset). */
  readonly name?: string;
}

/** An explicit egress listener with what it serves, as the sidecar opens it. */
export interface EgressListener {
  /** `egress <bind>:<port>`: the admin listing and logs. */
  readonly name: string;
  readonly bind: string;
  readonly port: number;
  readonly protocol: "http" | "tcp";
  /** The service hosts imported on the port, in service order (a TCP listener proxies to the first). */
  readonly hosts: readonly string[];
  /** The route-table gateway an HTTP listener's requests are routed through (egressListenerRoutes). */
  readonly gateway: string;
}

/**
 * The Sidecar's egress listeners the sidecar must bind itself: those with `captureMode: NONE` or a
 * `bind`, and a port (a listener without one would bind every imported service port: not served,
 * reported). Unix socket listeners (`bind: unix://…`) are reported and not served yet.
 */
export function explicitEgressListeners(sidecar: MeshResource<"Sidecar"> | undefined): { readonly specs: readonly EgressListenerSpec[]; readonly issues: readonly string[] } {
  const specs: EgressListenerSpec[] = [];
  const issues: string[] = [];
  const where = `Sidecar "${sidecar?.metadata.namespace ?? ""}/${sidecar?.metadata.name ?? ""}"`;
  (sidecar?.spec.egress ?? []).forEach((listener, index) => {
    const bind = listener.bind ?? "";
    if (listener.captureMode !== "NONE" && bind === "") return;
    const number = listener.port?.number ?? 0;
    if (bind.startsWith("unix://")) {
      issues.push(`${where} egress[${index}]: Unix socket egress listeners (bind ${bind}) are not served yet; the listener is not opened. Use a loopback bind such as 127.0.0.1 with a port`);
      return;
    }
    if (number === 0) {
      issues.push(`${where} egress[${index}]: an explicit egress listener (captureMode NONE or bind) needs a port to listen on; the listener is not opened. Add port: {number: 9080, protocol: HTTP}`);
      return;
    }
    specs.push({
      bind: bind === "" ? "127.0.0.1" : bind,
      port: number,
      ...(listener.port?.protocol !== undefined ? { protocol: listener.port.protocol } : {}),
      ...(listener.port?.name !== undefined ? { name: listener.port.name } : {}),
    });
  });
  return { specs, issues };
}

/** The listeners of `specs` with the services of `services` (already scoped by the Sidecar) each serves. */
export function egressListenersFor(specs: readonly EgressListenerSpec[] | undefined, services: readonly ServicePort[]): EgressListener[] {
  return (specs ?? []).map((spec) => {
    const ports = services.filter((s) => s.port === spec.port);
    const hosts = [...new Set(ports.map((s) => s.host))];
    const declared = portProtocol(spec.protocol, spec.name);
    // Unset protocol: Istio sniffs; here a port whose imported services are all TCP or TLS is TCP, any other HTTP.
    const isTcp = declared === "tcp" || declared === "tls" || (declared === "unknown" && ports.length > 0 && ports.every((s) => s.protocol === "tcp" || s.protocol === "tls"));
    const address = spec.bind.includes(":") ? `[${spec.bind}]:${spec.port}` : `${spec.bind}:${spec.port}`;
    return { name: `egress ${address}`, bind: spec.bind, port: spec.port, protocol: isTcp ? "tcp" : "http", hosts, gateway: `sidecar-egress ${address}` };
  });
}

/**
 * `table` with a gateway per HTTP listener of `listeners`: gateway `mesh`'s virtual hosts of the
 * listener's hosts only, under their domains without a port or with the listener's (Istio's route
 * config for the port). Any other authority has no virtual host there: 404 NR, since an
 * application dialling the listener directly has no original destination to pass through to.
 */
export function egressListenerRoutes(table: RouteTable, listeners: readonly EgressListener[], context: HostContext): RouteTable {
  const mesh = table.gateways.get("mesh");
  const http = listeners.filter((l) => l.protocol === "http");
  if (mesh === undefined || http.length === 0) return table;
  const gateways = new Map(table.gateways);
  for (const listener of http) {
    const domains = new Set<string>();
    const patterns = new Set<string>();
    for (const host of listener.hosts) {
      if (host.startsWith("*")) patterns.add(host);
      else for (const alias of domainAliases(host, context.namespace, context.domainSuffix)) domains.add(alias);
    }
    const exact = new Map<string, VirtualHost>();
    for (const [domain, vhost] of mesh.exact) {
      if (vhost.isNotImported === true) continue;
      const colon = domain.lastIndexOf(":");
      const bare = colon > 0 && domain.lastIndexOf("]") < colon ? domain.slice(0, colon) : domain;
      if (!domains.has(bare)) continue;
      if (bare === domain || domain === `${bare}:${listener.port}`) exact.set(domain, vhost);
    }
    const wildcards = mesh.wildcards.filter((w) => patterns.has(`*${w.suffix}`));
    const routes: GatewayRoutes = { exact, wildcards };
    gateways.set(listener.gateway, routes);
  }
  return { gateways, issues: table.issues };
}
