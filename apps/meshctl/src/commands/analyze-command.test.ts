import type { SourceText } from "@meshwork/config";
import { describe, expect, it } from "vitest";
import { runCommand } from "../../tests/support/run-command.ts";
import { analyzeCommand } from "./analyze-command.ts";

const canary: SourceText = {
  path: "canary.yaml",
  text: [
    "apiVersion: networking.istio.io/v1",
    "kind: VirtualService",
    "metadata:",
    "  name: reviews",
    "spec:",
    "  hosts: [reviews]",
    "  http:",
    "  - route:",
    "    - destination: { host: reviews, subset: v4 }",
    "---",
    "apiVersion: networking.istio.io/v1",
    "kind: DestinationRule",
    "metadata:",
    "  name: reviews",
    "spec:",
    "  host: reviews",
    "  subsets:",
    "  - { name: v1, labels: { version: v1 } }",
    "",
  ].join("\n"),
};
const catalog: SourceText = { path: "services.yaml", text: "services:\n- { name: ratings, namespace: default }\n" };

describe("analyzeCommand", () => {
  it("reports cross-resource findings such as an undefined subset (exit 1)", async () => {
    const { code, out } = await runCommand(analyzeCommand, ["-f", "canary.yaml", "-o", "json"], { files: [canary] });
    expect(code).toBe(1);
    const report = JSON.parse(out) as { issues: { name: string; file?: string; line?: number }[]; resources: number };
    expect(report.resources).toBe(2);
    expect(report.issues).toContainEqual(expect.objectContaining({ name: "UnknownSubset", file: "canary.yaml", line: 9 }));
  });

  it("checks hosts against the --services snapshot", async () => {
    const withoutCatalog = await runCommand(analyzeCommand, ["-f", "canary.yaml", "-o", "json"], { files: [canary] });
    const withCatalog = await runCommand(analyzeCommand, ["-f", "canary.yaml", "--services", "services.yaml", "-o", "json"], {
      files: [canary, catalog],
    });
    const names = (run: { out: string }) => (JSON.parse(run.out) as { issues: { name: string }[] }).issues.map((issue) => issue.name);
    expect(names(withoutCatalog)).not.toContain("HostNotFound");
    expect(names(withCatalog)).toContain("HostNotFound");
  });

  it("exits 2 before loading anything when --services cannot be read or parsed", async () => {
    expect(await runCommand(analyzeCommand, ["-f", "canary.yaml", "--services", "gone.yaml"], { files: [canary] })).toEqual({
      code: 2,
      out: "",
      err: 'meshctl analyze: cannot read "gone.yaml": no such file or directory. Check the path given to --services.\n',
    });
    const broken: SourceText = { path: "broken.yaml", text: "services: nope\n" };
    expect(await runCommand(analyzeCommand, ["-f", "canary.yaml", "--services", "broken.yaml"], { files: [canary, broken] })).toEqual({
      code: 2,
      out: "",
      err: 'meshctl analyze: --services "broken.yaml": services: expected a list, got "nope"\n',
    });
  });
});
