// Proxy config scenarios (testdata/proxy-config/*.txt): `config` loads Istio resources from YAML
// and builds the ProxyConfig (options namespace=, labels=(k:v), workload=, version=) and prints
// its issues; `clusters [match=text]` describes the clusters, `services` and `inbound` list the
// ports (with their addresses; `config auto-allocate` allocates them for services without);
// `request authority= port= [path=] [headers=(k:v)]` finds the route and the cluster each
// destination resolves to on that listener port; `resolve host= [subset=] [port=] listener=` asks
// the resolver directly. UPDATE_TESTDATA=1 rewrites the expected outputs.
import { join } from "node:path";
import { formatIssue, loadResources } from "@meshwork/config";
import { hasArg, intArg, listArg, listTestdataFiles, runDataDriven, stringArg } from "@meshwork/testing";
import { describe, it } from "vitest";
import { buildProxyConfig } from "./build-proxy-config.ts";
import { describeCluster } from "./describe-cluster.ts";
import { findRoute } from "./find-route.ts";
import type { ProxyConfig } from "./proxy-config.ts";
import { createClusterResolver, type ClusterResolver } from "./resolve-cluster.ts";

const dir = join(import.meta.dirname, "../testdata/proxy-config");

describe("proxy config", () => {
  for (const file of listTestdataFiles(dir, ".txt")) {
    it(file.slice(dir.length + 1), () => {
      let config: ProxyConfig | undefined;
      let resolver: ClusterResolver | undefined;
      const need = (): { config: ProxyConfig; resolver: ClusterResolver } => {
        if (!config || !resolver) throw new Error("command before config");
        return { config, resolver };
      };
      runDataDriven(file, (c) => {
        switch (c.cmd) {
          case "config": {
            const loaded = loadResources([{ path: "config.yaml", text: c.input }]);
            const out = loaded.issues.filter((i) => i.severity === "error").map(formatIssue);
            const built = buildProxyConfig(loaded.resources, {
              namespace: stringArg(c, "namespace", "default"),
              domainSuffix: "cluster.local",
              proxyLabels: pairs(listArg(c, "labels")),
              version: stringArg(c, "version", "v1"),
              workloadName: hasArg(c, "workload") ? stringArg(c, "workload") : undefined,
              autoAllocateAddresses: hasArg(c, "auto-allocate"),
            });
            config = built.config;
            resolver = createClusterResolver(config);
            out.push(...built.issues);
            return out.length === 0 ? "ok\n" : `${out.join("\n")}\n`;
          }
          case "clusters": {
            const filter = hasArg(c, "match") ? stringArg(c, "match") : "";
            const lines = [...need().config.clusters.values()].filter((cl) => cl.name.includes(filter)).flatMap(describeCluster);
            return `${lines.join("\n")}\n`;
          }
          case "services":
            return `${need()
              .config.services.map((s) => `${s.host}:${s.port} ${s.portName} ${s.protocol} ${s.cluster} from=${s.serviceEntry}${s.addresses === undefined ? "" : ` addresses=${s.addresses.join(",")}${s.autoAllocated === true ? " (auto)" : ""}`}`)
              .join("\n")}\n`;
          case "inbound": {
            const ports = need().config.inbound;
            return ports.length === 0 ? "(none)\n" : `${ports.map((p) => `${p.port}->${p.targetPort} ${p.portName} ${p.protocol} ${p.cluster} host=${p.host}`).join("\n")}\n`;
          }
          case "request": {
            const { config: cfg, resolver: res } = need();
            const port = intArg(c, "port");
            const decision = findRoute(cfg.routeTable, {
              method: "GET",
              authority: stringArg(c, "authority"),
              path: stringArg(c, "path", "/"),
              query: "",
              scheme: "http",
              port,
              headers: pairs(listArg(c, "headers")),
              sourceLabels: {},
              sourceNamespace: undefined,
              gateway: "mesh",
            });
            if (decision.type !== "route") return `${decision.type}\n`;
            const lines = [`route ${decision.name} vs=${decision.virtualService}`];
            if (decision.action.type === "forward") {
              for (const d of decision.action.destinations) lines.push(`  ${d.cluster} -> ${res.clusterFor(d, port)?.name ?? "(no cluster: 503 NC)"}`);
            }
            return `${lines.join("\n")}\n`;
          }
          case "resolve": {
            const destination = {
              host: stringArg(c, "host"),
              subset: hasArg(c, "subset") ? stringArg(c, "subset") : undefined,
              port: hasArg(c, "port") ? intArg(c, "port") : undefined,
            };
            return `${need().resolver.clusterFor(destination, intArg(c, "listener"))?.name ?? "(none)"}\n`;
          }
          default:
            throw new Error(`unknown command ${c.cmd}`);
        }
      });
    });
  }
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
