import { loadResources, type MeshResource } from "@meshwork/config";
import { describe, expect, it } from "vitest";
import { buildProxyConfig } from "../build-proxy-config.ts";
import { findRoute, noVirtualHost, type RouteRequest } from "../find-route.ts";
import type { ProxyConfig } from "../proxy-config.ts";
import { assembleProxyConfig } from "./assemble-proxy-config.ts";
import { computeProxyConfig } from "./compute-proxy-config.ts";
import { egressListenersFor, explicitEgressListeners } from "./sidecar-egress-listeners.ts";

const serviceEntry = (name: string, namespace: string, port: number, protocol: string): string => `apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: { name: ${name}, namespace: ${namespace} }
spec:
  hosts: [${name}.${namespace}.svc.cluster.local]
  location: MESH_INTERNAL
  resolution: STATIC
  ports: [{ number: ${port}, name: p${port}, protocol: ${protocol} }]
  endpoints: [{ address: 10.0.0.${port % 200} }]
`;

const sidecar = (egress: string, extra = ""): string => `apiVersion: networking.istio.io/v1
kind: Sidecar
metadata: { name: ratings, namespace: shop }
spec:
  egress:
${egress}${extra}`;

function load(...docs: string[]): MeshResource[] {
  const loaded = loadResources([{ path: "mesh.yaml", text: docs.join("---\n") }]);
  const errors = loaded.issues.filter((i) => i.severity === "error");
  if (errors.length > 0) throw new Error(errors.map((e) => e.message).join("\n"));
  return loaded.resources;
}

const mesh = [serviceEntry("ledger", "bank", 9080, "HTTP"), serviceEntry("db", "bank", 5432, "TCP"), serviceEntry("web", "shop", 9080, "HTTP"), serviceEntry("web-admin", "shop", 7070, "HTTP")];
const egress = `  - port: { number: 9080, protocol: HTTP, name: http }
    captureMode: NONE
    hosts: ["bank/*"]
  - port: { number: 5432, name: db }
    bind: 127.0.0.2
    hosts: ["bank/*"]
  - hosts: ["./*"]
`;

function build(...docs: string[]): ProxyConfig {
  return buildProxyConfig(load(...docs), { namespace: "shop", domainSuffix: "cluster.local", proxyLabels: {}, version: "t" }).config;
}

function request(authority: string, gateway: string): RouteRequest {
  return { method: "GET", authority, path: "/", query: "", scheme: "http", port: 9080, headers: {}, sourceLabels: {}, sourceNamespace: "shop", gateway };
}

describe("explicitEgressListeners", () => {
  it("opens listeners with captureMode NONE (on 127.0.0.1) or a bind, and leaves captured ones to scoping", () => {
    const [resource] = load(sidecar(egress));
    const { specs, issues } = explicitEgressListeners(resource as MeshResource<"Sidecar">);
    expect(specs).toEqual([
      { bind: "127.0.0.1", port: 9080, protocol: "HTTP", name: "http" },
      { bind: "127.0.0.2", port: 5432, name: "db" },
    ]);
    expect(issues).toEqual([]);
  });

  it("reports a Unix socket listener (not served yet) and a bound listener without a port, naming the fix", () => {
    const [resource] = load(
      sidecar(`  - port: { number: 0, protocol: HTTP, name: uds }
    bind: unix:///var/run/out.sock
    hosts: ["bank/*"]
  - captureMode: NONE
    hosts: ["./*"]
`),
    );
    const { specs, issues } = explicitEgressListeners(resource as MeshResource<"Sidecar">);
    expect(specs).toEqual([]);
    expect(issues).toHaveLength(2);
    expect(issues[0]).toMatch(/egress\[0\].*unix:\/\/\/var\/run\/out\.sock.*not opened/);
    expect(issues[1]).toMatch(/egress\[1\].*needs a port.*Add port/);
  });
});

describe("egress listeners in the proxy config", () => {
  it("serve the hosts imported on their port; an unset protocol whose services are all TCP is TCP", () => {
    const config = build(...mesh, sidecar(egress));
    expect(config.egressListeners?.map((l) => [l.name, l.protocol, l.hosts])).toEqual([
      ["egress 127.0.0.1:9080", "http", ["ledger.bank.svc.cluster.local"]],
      ["egress 127.0.0.2:5432", "tcp", ["db.bank.svc.cluster.local"]],
    ]);
  });

  it("route an HTTP listener's requests only to its own hosts: another host has no virtual host there", () => {
    const config = build(...mesh, sidecar(egress));
    const gateway = config.egressListeners?.[0]?.gateway ?? "";
    const toLedger = findRoute(config.routeTable, request("ledger.bank.svc.cluster.local:9080", gateway));
    expect(toLedger.type === "route" && toLedger.action.type === "forward" ? toLedger.action.destinations[0]?.host : toLedger.type).toBe("ledger.bank.svc.cluster.local");
    const short = findRoute(config.routeTable, request("ledger.bank", gateway));
    expect(short.type).toBe("route");
    expect(findRoute(config.routeTable, request("web.shop.svc.cluster.local:9080", gateway))).toBe(noVirtualHost);
    expect(findRoute(config.routeTable, request("web-admin.shop.svc.cluster.local", gateway))).toBe(noVirtualHost);
  });

  it("answer a host not imported on a scoped port of gateway mesh like an unknown host (the traffic policy decides)", () => {
    const config = build(...mesh, sidecar(egress));
    expect(findRoute(config.routeTable, request("web.shop.svc.cluster.local:9080", "mesh"))).toBe(noVirtualHost);
    expect(findRoute(config.routeTable, request("web-admin.shop.svc.cluster.local:7070", "mesh")).type).toBe("route");
  });

  it("carry the Sidecar's outboundTrafficPolicy only when it sets one (an unset mode is REGISTRY_ONLY)", () => {
    expect(build(...mesh, sidecar(egress)).outboundTrafficPolicy).toBeUndefined();
    expect(build(...mesh, sidecar(egress, "  outboundTrafficPolicy: { mode: ALLOW_ANY }\n")).outboundTrafficPolicy).toBe("ALLOW_ANY");
    expect(build(...mesh, sidecar(egress, "  outboundTrafficPolicy: { mode: REGISTRY_ONLY }\n")).outboundTrafficPolicy).toBe("REGISTRY_ONLY");
  });

  it("reach a managed proxy as pushed: the assembled config has the same listeners and routes", () => {
    const computed = computeProxyConfig(
      { revision: "1", resources: load(...mesh, sidecar(egress)), mesh: { domainSuffix: "cluster.local", rootNamespace: "istio-system", trustDomain: "cluster.local" }, trustBundles: [] },
      { instances: [] },
      { id: "r", workload: "", namespace: "shop", serviceAccount: "default", labels: {}, version: "t", kind: "sidecar" },
    );
    const assembled = assembleProxyConfig(computed.resources, { namespace: "shop", domainSuffix: "cluster.local", version: "t" }).config;
    expect(assembled.egressListeners).toEqual(build(...mesh, sidecar(egress)).egressListeners);
    const gateway = assembled.egressListeners?.[0]?.gateway ?? "";
    expect(findRoute(assembled.routeTable, request("ledger.bank.svc.cluster.local:9080", gateway)).type).toBe("route");
    expect(findRoute(assembled.routeTable, request("web.shop.svc.cluster.local:9080", gateway))).toBe(noVirtualHost);
  });

  it("give a listener without imported services no hosts (its connections are refused)", () => {
    expect(egressListenersFor([{ bind: "127.0.0.1", port: 6000 }], [])).toEqual([
      { name: "egress 127.0.0.1:6000", bind: "127.0.0.1", port: 6000, protocol: "http", hosts: [], gateway: "sidecar-egress 127.0.0.1:6000" },
    ]);
  });
});
