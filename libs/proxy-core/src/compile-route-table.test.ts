// Route selection scenarios (testdata/route-selection/*.txt): `config` loads VirtualServices and
// DestinationRules from YAML and compiles them; `request` runs findRoute and prints the chosen
// route, its cluster(s) and filters; `connection` picks the `tcp`/`tls` route of a TCP connection
// (by port and SNI) on a gateway or a sidecar (`mesh`). UPDATE_TESTDATA=1 rewrites the expected outputs.
import { join } from "node:path";
import { loadResources, formatIssue, type MeshResource } from "@meshwork/config";
import { listArg, listTestdataFiles, runDataDriven, intArg, stringArg, hasArg } from "@meshwork/testing";
import { describe, expect, it } from "vitest";
import { applyRewrite } from "./apply-rewrite.ts";
import { compileRouteTable } from "./compile-route-table.ts";
import { compileTcpRouteTable } from "./compile-tcp-route-table.ts";
import { describeRoute } from "./describe-route.ts";
import { findRoute, type RouteRequest } from "./find-route.ts";
import { findTcpRoute, pickTcpDestination, tcpClusterName } from "./find-tcp-route.ts";
import { compileGatewayTcpRoutes, findGatewayTcpRoute } from "./gateway/gateway-tcp-routes.ts";
import { pickWeighted } from "./pick-weighted.ts";
import { expandGatewayApi } from "./proxy-model/expand-gateway-api.ts";
import { redirectPath } from "./redirect-path.ts";
import type { RouteTable } from "./route-table.ts";
import type { TcpRoute, TcpRouteTable } from "./tcp-route-table.ts";

const dir = join(import.meta.dirname, "../testdata/route-selection");

describe("route selection", () => {
  for (const file of listTestdataFiles(dir, ".txt")) {
    it(file.slice(dir.length + 1), () => {
      let table: RouteTable | undefined;
      let tcpTables: { gateways: ReadonlyMap<string, TcpRouteTable>; mesh: TcpRouteTable } | undefined;
      runDataDriven(file, (c) => {
        switch (c.cmd) {
          case "config": {
            const loaded = loadResources([{ path: "config.yaml", text: c.input }]);
            const out = loaded.issues.filter((i) => i.severity === "error").map(formatIssue);
            // Gateway API resources route as the VirtualServices they convert to (gateway-api-*.txt).
            const expanded = expandGatewayApi(loaded.resources, { defaultNamespace: stringArg(c, "namespace", "default"), domainSuffix: stringArg(c, "domain-suffix", "cluster.local") });
            out.push(...expanded.issues);
            const vs = expanded.resources.filter((r): r is MeshResource<"VirtualService"> => r.kind === "VirtualService");
            const dr = expanded.resources.filter((r): r is MeshResource<"DestinationRule"> => r.kind === "DestinationRule");
            table = compileRouteTable(vs, dr, {
              namespace: stringArg(c, "namespace", "default"),
              domainSuffix: stringArg(c, "domain-suffix", "cluster.local"),
            });
            out.push(...table.issues);
            const gateways = expanded.resources.filter((r): r is MeshResource<"Gateway"> => r.kind === "Gateway");
            const hostContext = { namespace: stringArg(c, "namespace", "default"), domainSuffix: stringArg(c, "domain-suffix", "cluster.local") };
            tcpTables = { gateways: compileGatewayTcpRoutes(gateways, vs, dr, hostContext), mesh: compileTcpRouteTable(vs, dr, hostContext) };
            // The conversion's Istio resources, one JSON line each: Gateway servers; VirtualService hosts,
            // gateways, tcp and tls routes, and of http routes the uri matches, redirects and rewrites.
            if (hasArg(c, "dump-converted")) {
              for (const r of expanded.resources.slice(loaded.resources.length)) {
                if (r.kind === "Gateway") out.push(`Gateway ${r.metadata.namespace ?? ""}/${r.metadata.name} ${JSON.stringify(r.spec.servers)}`);
                if (r.kind !== "VirtualService") continue;
                const http = r.spec.http?.map((h) => ({ uri: h.match?.map((m) => m.uri), redirect: h.redirect, rewrite: h.rewrite }));
                out.push(`VirtualService ${r.metadata.namespace ?? ""}/${r.metadata.name} ${JSON.stringify({ hosts: r.spec.hosts, gateways: r.spec.gateways, http, tcp: r.spec.tcp, tls: r.spec.tls })}`);
              }
            }
            if (hasArg(c, "dump")) {
              for (const [gateway, routes] of table.gateways) {
                for (const [domain, host] of routes.exact) out.push(`${gateway} ${domain} → ${host.name} (${host.routes.length} routes)`);
                for (const w of routes.wildcards) out.push(`${gateway} *${w.suffix} → ${w.host.name} (${w.host.routes.length} routes)`);
              }
            }
            return out.length === 0 ? "ok\n" : `${out.join("\n")}\n`;
          }
          case "request": {
            if (!table) throw new Error("request before config");
            const target = stringArg(c, "path", "/");
            const q = target.indexOf("?");
            const request: RouteRequest = {
              method: stringArg(c, "method", "GET"),
              authority: stringArg(c, "authority"),
              path: q < 0 ? target : target.slice(0, q),
              query: q < 0 ? "" : target.slice(q + 1),
              scheme: stringArg(c, "scheme", "http"),
              port: intArg(c, "port", 80),
              headers: pairs(listArg(c, "headers")),
              sourceLabels: pairs(listArg(c, "source-labels")),
              sourceNamespace: hasArg(c, "source-namespace") ? stringArg(c, "source-namespace") : undefined,
              gateway: stringArg(c, "gateway", "mesh"),
            };
            const decision = findRoute(table, request);
            if (decision.type !== "route") return `${decision.type}\n`;
            const lines = describeRoute(decision);
            if (decision.rewrite) lines.push(`  forwarded-path ${applyRewrite(decision.rewrite, request.path)}`);
            if (decision.action.type === "redirect") lines.push(`  location-path ${redirectPath(decision.action.redirect, request.path)}`);
            for (const r of listArg(c, "random")) {
              if (decision.action.type === "forward") lines.push(`  pick(${r}) ${pickWeighted(decision.action, Number(r)).cluster}`);
            }
            return `${lines.join("\n")}\n`;
          }
          case "connection": {
            if (!tcpTables) throw new Error("connection before config");
            const gateway = stringArg(c, "gateway", "mesh");
            const port = intArg(c, "port", 0);
            const sni = hasArg(c, "sni") ? stringArg(c, "sni") : undefined;
            let route: TcpRoute | undefined;
            if (gateway === "mesh") {
              const decision = findTcpRoute(tcpTables.mesh, { host: stringArg(c, "host"), port, sni, sourceLabels: {}, sourceNamespace: hasArg(c, "source-namespace") ? stringArg(c, "source-namespace") : undefined });
              if (decision.type === "default") return `default ${decision.cluster}\n`;
              if (decision.type === "no-host") return "no-host\n";
              route = decision.route;
            } else {
              const gatewayTable = tcpTables.gateways.get(gateway);
              route = gatewayTable === undefined ? undefined : findGatewayTcpRoute(gatewayTable, { port, sni, sourceLabels: {}, sourceNamespace: undefined });
            }
            if (route === undefined) return "refused\n";
            const lines = [`${route.type}-route ${route.name} match[${route.matchIndex}]`];
            for (const d of route.destinations) lines.push(`  forward ${tcpClusterName(d, port)} weight=${d.weight}/${route.totalWeight}`);
            for (const r of listArg(c, "random")) lines.push(`  pick(${r}) ${tcpClusterName(pickTcpDestination(route, Number(r)), port)}`);
            return `${lines.join("\n")}\n`;
          }
          default:
            throw new Error(`unknown command ${c.cmd}`);
        }
      });
    });
  }
});

describe("compileRouteTable delegation", () => {
  const vs = (name: string, spec: MeshResource<"VirtualService">["spec"]): MeshResource<"VirtualService"> => ({
    apiVersion: "networking.istio.io/v1",
    kind: "VirtualService",
    metadata: { name, namespace: "shop" },
    spec,
  });

  // Validation refuses this config (route-selection testdata cannot load it); a proxy given it anyway must not follow it.
  it("does not follow a delegate's own delegate route (one level, as in Istio) and keeps the delegate's other routes", () => {
    const inner = vs("inner", { http: [{ route: [{ destination: { host: "deep" } }] }] });
    const middle = vs("middle", { http: [{ delegate: { name: "inner" } }, { route: [{ destination: { host: "svc" } }] }] });
    const root = vs("root", { hosts: ["shop.example.com"], http: [{ match: [{ uri: { prefix: "/a" } }], delegate: { name: "middle" } }] });
    // Delegates may come before their root in the input.
    const table = compileRouteTable([inner, middle, root], [], { namespace: "shop", domainSuffix: "cluster.local" });
    expect(table.issues).toEqual([
      'VirtualService "shop/middle" (delegate of "shop/root") route "shop/middle[0]" (http[0]): a delegate\'s route cannot delegate again (only one level of delegation); route skipped — route to destinations here instead',
    ]);
    const host = table.gateways.get("mesh")?.exact.get("shop.example.com");
    expect(host?.routes.flatMap(describeRoute)).toEqual([
      "route shop/middle[1] vs=shop/root http[0] delegate=shop/middle http[1] match[0]",
      "  forward outbound|||svc.shop.svc.cluster.local weight=100/100",
      "  retries attempts=2 on=connect-failure,refused-stream,retriable-status-codes,cancelled,unavailable codes=503",
    ]);
  });
});

/** `(a:1, b:2)` → `{ a: "1", b: "2" }`. */
function pairs(list: readonly string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const item of list) {
    const colon = item.indexOf(":");
    out[colon < 0 ? item : item.slice(0, colon)] = colon < 0 ? "" : item.slice(colon + 1);
  }
  return out;
}
