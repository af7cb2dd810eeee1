// Outlier detection scenarios (testdata/outlier-detection/*.txt): `init endpoints=N [settings]`,
// `response ep=I status=S t=MS`, `responses ep=I status=S count=K t=MS`, `tick t=MS`, `state`.
import { join } from "node:path";
import { hasArg, intArg, listTestdataFiles, runDataDriven } from "@meshwork/testing";
import { describe, it } from "vitest";
import { OutlierDetector, outlierSettings, type OutlierChanges } from "./outlier-detector.ts";

const dir = join(import.meta.dirname, "../testdata/outlier-detection");

describe("OutlierDetector", () => {
  for (const file of listTestdataFiles(dir, ".txt")) {
    it(file.slice(dir.length + 1), () => {
      let detector: OutlierDetector | undefined;
      const d = (): OutlierDetector => {
        if (!detector) throw new Error("init first");
        return detector;
      };
      runDataDriven(file, (c) => {
        switch (c.cmd) {
          case "init": {
            const opt = (name: string): number | undefined => (hasArg(c, name) ? intArg(c, name) : undefined);
            const settings = outlierSettings({
              consecutive5xxErrors: opt("consecutive-5xx"),
              consecutiveGatewayErrors: opt("consecutive-gateway"),
              interval: opt("interval-ms"),
              baseEjectionTime: opt("base-ejection-ms"),
              maxEjectionPercent: opt("max-ejection-percent"),
            });
            detector = new OutlierDetector(intArg(c, "endpoints"), settings, 0);
            return `${JSON.stringify(settings)}\n`;
          }
          case "response":
          case "responses": {
            const out: string[] = [];
            const count = intArg(c, "count", 1);
            for (let k = 0; k < count; k++) out.push(...describeChanges(d().recordResponse(intArg(c, "ep"), intArg(c, "status"), intArg(c, "t"))));
            return out.length === 0 ? "no change\n" : `${out.join("\n")}\n`;
          }
          case "tick": {
            const out = describeChanges(d().tick(intArg(c, "t")));
            return out.length === 0 ? "no change\n" : `${out.join("\n")}\n`;
          }
          case "state": {
            const n = intArg(c, "endpoints");
            return `${Array.from({ length: n }, (_, i) => `ep${i} ${d().isEjected(i) ? "ejected" : "serving"} ejections=${d().ejectionCount(i)}`).join("\n")}\n`;
          }
          default:
            throw new Error(`unknown command ${c.cmd}`);
        }
      });
    });
  }
});

function describeChanges(changes: OutlierChanges): string[] {
  return [...changes.ejected.map((i) => `eject ep${i}`), ...changes.returned.map((i) => `return ep${i}`)];
}
