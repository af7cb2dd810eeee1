// Telemetry resolution scenarios (testdata/telemetry/*.txt): `telemetries` loads Telemetry YAML;
// `resolve namespace= labels=(k:v) [root=NS]` prints the effective telemetry of that workload per
// side (CLIENT = outbound, SERVER = inbound) and the Telemetries set aside. UPDATE_TESTDATA=1
// rewrites the expected outputs.
import { join } from "node:path";
import { formatIssue, loadResources, type MeshResource } from "@meshwork/config";
import { listArg, listTestdataFiles, runDataDriven, stringArg } from "@meshwork/testing";
import { describe, it } from "vitest";
import { resolveTelemetry, type SideTelemetry } from "./resolve-telemetry.ts";

const dir = join(import.meta.dirname, "../../testdata/telemetry");

describe("telemetry resolution", () => {
  for (const file of listTestdataFiles(dir, ".txt")) {
    it(file.slice(dir.length + 1), () => {
      let telemetries: MeshResource<"Telemetry">[] = [];
      runDataDriven(file, (c) => {
        switch (c.cmd) {
          case "telemetries": {
            const loaded = loadResources([{ path: "telemetries.yaml", text: c.input }]);
            telemetries = loaded.resources.filter((r): r is MeshResource<"Telemetry"> => r.kind === "Telemetry");
            const errors = loaded.issues.filter((i) => i.severity === "error").map(formatIssue);
            return errors.length === 0 ? `${telemetries.length} telemetries\n` : `${errors.join("\n")}\n`;
          }
          case "resolve": {
            const { telemetry, issues } = resolveTelemetry(telemetries, {
              namespace: stringArg(c, "namespace"),
              labels: pairs(listArg(c, "labels")),
              rootNamespace: stringArg(c, "root", "istio-system"),
            });
            const lines = [`sources: ${telemetry.sources.join(", ") || "-"}`, ...side("client", telemetry.client), ...side("server", telemetry.server), ...issues.map((i) => `issue: ${i}`)];
            return `${lines.join("\n")}\n`;
          }
          default:
            throw new Error(`unknown command ${c.cmd}`);
        }
      });
    });
  }
});

function side(name: string, t: SideTelemetry): string[] {
  const log = t.accessLog === undefined ? "flags" : t.accessLog.enabled ? `on${t.accessLog.filter !== undefined ? ` filter=${JSON.stringify(t.accessLog.filter)}` : ""}` : "off";
  const tracing =
    t.tracing === undefined
      ? "flags"
      : [
          `sampling=${t.tracing.samplingPercent ?? "flag"}`,
          `spans=${t.tracing.reportSpans ? "on" : "off"}`,
          ...Object.entries(t.tracing.customTags).map(([k, v]) => `tag ${k}=${v.type}:${v.type === "literal" ? v.value : `${v.name}${v.defaultValue !== undefined ? `|${v.defaultValue}` : ""}`}`),
        ].join(" ");
  const metrics = Object.entries(t.metrics).map(
    ([metric, o]) => `${metric}${o.disabled ? " disabled" : ""}${Object.entries(o.tags).map(([label, change]) => ` ${label}=${change.operation === "REMOVE" ? "REMOVE" : JSON.stringify(change.value)}`).join("")}`,
  );
  return [`${name}: log=${log}; tracing: ${tracing}`, ...metrics.map((m) => `${name} metric: ${m}`)];
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
