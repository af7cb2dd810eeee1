// TCP/TLS route selection scenarios (testdata/tcp-routes/*.txt): `config` loads VirtualServices
// and DestinationRules from YAML and compiles the tcp/tls routes; `connect` runs findTcpRoute for
// one connection and prints the decision and, for `random=(...)`, the picked clusters.
// UPDATE_TESTDATA=1 rewrites the expected outputs.
import { join } from "node:path";
import { formatIssue, loadResources, type MeshResource } from "@meshwork/config";
import { hasArg, intArg, listArg, listTestdataFiles, runDataDriven, stringArg } from "@meshwork/testing";
import { describe, it } from "vitest";
import { compileTcpRouteTable } from "./compile-tcp-route-table.ts";
import { findTcpRoute, pickTcpDestination, tcpClusterName } from "./find-tcp-route.ts";
import type { TcpMatch, TcpRouteTable } from "./tcp-route-table.ts";

const dir = join(import.meta.dirname, "../testdata/tcp-routes");

describe("tcp route selection", () => {
  for (const file of listTestdataFiles(dir, ".txt")) {
    it(file.slice(dir.length + 1), () => {
      let table: TcpRouteTable | undefined;
      runDataDriven(file, (c) => {
        switch (c.cmd) {
          case "config": {
            const loaded = loadResources([{ path: "config.yaml", text: c.input }]);
            const out = loaded.issues.filter((i) => i.severity === "error").map(formatIssue);
            const vs = loaded.resources.filter((r): r is MeshResource<"VirtualService"> => r.kind === "VirtualService");
            const dr = loaded.resources.filter((r): r is MeshResource<"DestinationRule"> => r.kind === "DestinationRule");
            table = compileTcpRouteTable(vs, dr, {
              namespace: stringArg(c, "namespace", "default"),
              domainSuffix: "cluster.local",
              gateway: stringArg(c, "gateway", "mesh"),
              serviceHosts: listArg(c, "services"),
              serviceAddresses: addressMap(listArg(c, "addresses")),
            });
            out.push(...table.issues);
            if (hasArg(c, "dump")) {
              for (const [domain, host] of table.exact) out.push(`${domain} → ${host.name}: ${host.routes.map((r) => `${r.name} match[${r.matchIndex}]`).join(", ") || "(default)"}`);
              for (const w of table.wildcards) out.push(`*${w.suffix}: ${w.routes.map((r) => `${r.name} match[${r.matchIndex}]`).join(", ")}`);
              for (const [address, host] of table.addresses ?? []) out.push(`address ${address} → ${host.name}`);
              for (const block of table.addressBlocks ?? []) out.push(`address block ${block.cidr.text} → ${block.host.name}`);
            }
            return out.length === 0 ? "ok\n" : `${out.join("\n")}\n`;
          }
          case "connect": {
            if (!table) throw new Error("connect before config");
            const port = intArg(c, "port");
            const decision = findTcpRoute(table, {
              host: stringArg(c, "host"),
              port,
              sourceLabels: pairs(listArg(c, "source-labels")),
              sourceNamespace: hasArg(c, "source-namespace") ? stringArg(c, "source-namespace") : undefined,
              destinationIp: hasArg(c, "destination-ip") ? stringArg(c, "destination-ip") : undefined,
              sni: hasArg(c, "sni") ? stringArg(c, "sni") : undefined,
            });
            if (decision.type === "no-host") return "no-host\n";
            if (decision.type === "default") return `default ${decision.cluster}\n`;
            const route = decision.route;
            const conditions = route.match ? describeMatch(route.match) : "";
            const lines = [`route ${route.name} match[${route.matchIndex}]${conditions === "" ? "" : ` ${conditions}`}`];
            for (const d of route.destinations) lines.push(`  ${tcpClusterName(d, port)} weight=${d.weight}/${route.totalWeight}`);
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

function describeMatch(m: TcpMatch): string {
  const parts: string[] = [];
  if (m.port !== undefined) parts.push(`port=${m.port}`);
  if (m.sourceLabels.length > 0) parts.push(`labels=${m.sourceLabels.map(([k, v]) => `${k}:${v}`).join(",")}`);
  if (m.sourceNamespace !== undefined) parts.push(`ns=${m.sourceNamespace}`);
  if (m.destinationSubnets.length > 0) parts.push(`subnets=${m.destinationSubnets.map((s) => s.text).join(",")}`);
  if (m.sniHosts) parts.push(`sni=${m.sniHosts.map((h) => h.exact ?? `*${h.suffix ?? ""}`).join(",")}`);
  return parts.join(" ");
}

/** `(a:1, b:2)` → `{ a: "1", b: "2" }`. */
function pairs(list: readonly string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const item of list) {
    const colon = item.indexOf(":");
    out[colon < 0 ? item : item.slice(0, colon)] = colon < 0 ? "" : item.slice(colon + 1);
  }
  return out;
}

/** `(host=address, ...)` → host → addresses, in order. */
function addressMap(list: readonly string[]): Map<string, string[]> {
  const out = new Map<string, string[]>();
  for (const item of list) {
    const eq = item.indexOf("=");
    const host = item.slice(0, eq);
    out.set(host, [...(out.get(host) ?? []), item.slice(eq + 1)]);
  }
  return out;
}
