// PeerAuthentication scenarios (testdata/peer-authentication/*.txt): `policies [root=NS]` loads
// PeerAuthentications from YAML; `mode namespace= labels=(k:v) ports=(p,...)` prints the effective
// mode of the workload and of each listed workload port, and which policy decided per scope;
// `config namespace= labels=(k:v)` loads ServiceEntries/WorkloadEntries/PeerAuthentications into a
// ProxyConfig and `identities` / `auto-mtls` print secure naming and auto mTLS per endpoint.
// UPDATE_TESTDATA=1 rewrites the expected outputs.
import { join } from "node:path";
import { formatIssue, loadResources, type MeshResource } from "@meshwork/config";
import { intListArg, listArg, listTestdataFiles, runDataDriven, stringArg } from "@meshwork/testing";
import { describe, it } from "vitest";
import { buildProxyConfig } from "../build-proxy-config.ts";
import type { ProxyConfig } from "../proxy-config.ts";
import { mtlsModeForPort, resolvePeerAuthentication } from "./resolve-peer-authentication.ts";

const dir = join(import.meta.dirname, "../../testdata/peer-authentication");

describe("peer authentication", () => {
  for (const file of listTestdataFiles(dir, ".txt")) {
    it(file.slice(dir.length + 1), () => {
      let policies: MeshResource<"PeerAuthentication">[] = [];
      let root = "istio-system";
      let config: ProxyConfig | undefined;
      runDataDriven(file, (c) => {
        switch (c.cmd) {
          case "policies": {
            const loaded = loadResources([{ path: "policies.yaml", text: c.input }]);
            policies = loaded.resources.filter((r): r is MeshResource<"PeerAuthentication"> => r.kind === "PeerAuthentication");
            root = stringArg(c, "root", "istio-system");
            const errors = loaded.issues.filter((i) => i.severity === "error").map(formatIssue);
            return errors.length === 0 ? `${policies.length} policies\n` : `${errors.join("\n")}\n`;
          }
          case "mode": {
            const effective = resolvePeerAuthentication(policies, { namespace: stringArg(c, "namespace"), labels: pairs(listArg(c, "labels")) }, root);
            const lines = [`workload: ${effective.mode}`];
            for (const port of intListArg(c, "ports")) lines.push(`port ${port}: ${mtlsModeForPort(effective, port)}`);
            lines.push(`from: mesh=${effective.mesh ?? "-"} namespace=${effective.namespace ?? "-"} workload=${effective.workload ?? "-"}`);
            return `${lines.join("\n")}\n`;
          }
          case "config": {
            const loaded = loadResources([{ path: "config.yaml", text: c.input }]);
            const built = buildProxyConfig(loaded.resources, {
              namespace: stringArg(c, "namespace", "default"),
              domainSuffix: "cluster.local",
              proxyLabels: pairs(listArg(c, "labels")),
              version: "v1",
              trustDomain: stringArg(c, "trust-domain", "cluster.local"),
            });
            config = built.config;
            const errors = loaded.issues.filter((i) => i.severity === "error").map(formatIssue);
            const scoped = `peerAuthentications=${(config.peerAuthentications ?? []).map((p) => `${p.metadata.namespace}/${p.metadata.name}`).join(",") || "-"}`;
            return `${[...errors, scoped].join("\n")}\n`;
          }
          case "identities": {
            if (!config) throw new Error("identities before config");
            const lines = [...(config.serviceIdentities ?? [])].map(([host, ids]) => `${host}: ${ids.join(", ")}`);
            return `${lines.length === 0 ? "(none)" : lines.join("\n")}\n`;
          }
          case "auto-mtls": {
            if (!config) throw new Error("auto-mtls before config");
            const lines: string[] = [];
            for (const cluster of config.clusters.values()) {
              const auto = config.autoMtls?.get(cluster.name);
              if (!auto) {
                lines.push(`${cluster.name}: DestinationRule tls ${cluster.tls?.mode ?? "?"}`);
                continue;
              }
              lines.push(`${cluster.name}: ${cluster.endpoints.map((e, i) => `${e.address}=${auto[i] ? "ISTIO_MUTUAL" : "plaintext"}`).join(" ") || "(no endpoints)"}`);
            }
            return `${lines.join("\n")}\n`;
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
