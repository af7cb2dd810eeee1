// Compiler scenarios (testdata/compute/*.txt): `catalog` reads registry instances (YAML list of
// {service, id, node, address, port, meta, health}); `config` loads Istio resources; `compute
// namespace= [labels=(k:v)] [workload=] [kind=]` runs computeProxyConfig for one proxy and prints
// its resources (describeProxyResources) and issues. UPDATE_TESTDATA=1 rewrites the outputs.
import { join } from "node:path";
import { formatIssue, loadResources, type MeshResource } from "@meshwork/config";
import { computeProxyConfig, type CatalogInstance, type MeshCatalog } from "@meshwork/proxy-core";
import { hasArg, listArg, listTestdataFiles, runDataDriven, stringArg } from "@meshwork/testing";
import { parse } from "yaml";
import { describe, it } from "vitest";
import { describeProxyResources } from "../src/core/describe-proxy-resources.ts";

const dir = join(import.meta.dirname, "../testdata/compute");

describe("computeProxyConfig", () => {
  for (const file of listTestdataFiles(dir, ".txt")) {
    it(file.slice(dir.length + 1), () => {
      let catalog: MeshCatalog = { instances: [] };
      let resources: MeshResource[] = [];
      runDataDriven(file, (c) => {
        switch (c.cmd) {
          case "catalog": {
            catalog = { instances: (parse(c.input) as Partial<CatalogInstanceYaml>[] | null ?? []).map(instance) };
            return `${catalog.instances.length} instances\n`;
          }
          case "config": {
            const loaded = loadResources([{ path: "config.yaml", text: c.input }]);
            resources = loaded.resources;
            const errors = loaded.issues.filter((i) => i.severity === "error").map(formatIssue);
            return errors.length === 0 ? `${resources.length} resources\n` : `${errors.join("\n")}\n`;
          }
          case "compute": {
            const computed = computeProxyConfig(
              { revision: "r1", resources, mesh: { domainSuffix: "cluster.local", rootNamespace: "istio-system", trustDomain: "cluster.local" }, trustBundles: [] },
              catalog,
              {
                id: "proxy-1",
                workload: hasArg(c, "workload") ? stringArg(c, "workload") : "",
                namespace: stringArg(c, "namespace", "default"),
                serviceAccount: "default",
                labels: pairs(listArg(c, "labels")),
                version: "test",
                kind: stringArg(c, "kind", "sidecar") === "gateway" ? "gateway" : "sidecar",
              },
            );
            const lines = [`sidecar ${computed.sidecar ?? "(none)"}`, ...describeProxyResources(computed.resources), ...computed.issues.map((i) => `issue: ${i}`)];
            return `${lines.join("\n")}\n`;
          }
          default:
            throw new Error(`${c.pos}: unknown command "${c.cmd}"`);
        }
      });
    });
  }
});

interface CatalogInstanceYaml {
  service: string;
  id: string;
  node: string;
  address: string;
  port: number;
  meta: Record<string, string>;
  health: string;
  tags: string[];
}

function instance(y: Partial<CatalogInstanceYaml>): CatalogInstance {
  return {
    node: y.node ?? "node-1",
    nodeAddress: "192.168.0.1",
    serviceId: y.id ?? `${y.service}-1`,
    serviceName: y.service ?? "unnamed",
    address: y.address ?? "",
    port: y.port ?? 9080,
    tags: y.tags ?? [],
    meta: y.meta ?? {},
    health: y.health ?? "passing",
  };
}

function pairs(list: readonly string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const item of list) {
    const colon = item.indexOf(":");
    out[colon < 0 ? item : item.slice(0, colon)] = colon < 0 ? "" : item.slice(colon + 1);
  }
  return out;
}
