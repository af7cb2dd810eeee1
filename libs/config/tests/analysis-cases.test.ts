// Data-driven analysis cases: every testdata/analysis/<name>.yaml is loaded and analyzed (with
// <name>.catalog.yaml as the registry snapshot when present); load issues and findings, as
// meshctl prints them, must equal <name>.golden.
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { parse } from "yaml";
import { describe, it } from "vitest";
import { analyzeResources, formatIssue, loadResources, sortIssues, type MeshCatalog } from "../src/index.ts";
import { expectGolden } from "./golden.ts";

const dir = join(import.meta.dirname, "../testdata/analysis");
const cases = existsSync(dir) ? readdirSync(dir).filter((f) => f.endsWith(".yaml") && !f.endsWith(".catalog.yaml")).sort() : [];

describe("testdata/analysis", () => {
  it.each(cases)("%s", (file) => {
    const base = file.replace(/\.yaml$/, "");
    const catalogPath = join(dir, `${base}.catalog.yaml`);
    const catalog = existsSync(catalogPath) ? (parse(readFileSync(catalogPath, "utf8")) as MeshCatalog) : undefined;
    const { resources, issues } = loadResources([{ path: `analysis/${file}`, text: readFileSync(join(dir, file), "utf8") }]);
    const findings = analyzeResources(resources, catalog ? { catalog } : {});
    const text = [`# load issues: ${issues.length}`, ...sortIssues(issues).map(formatIssue), `# findings: ${findings.length}`, ...findings.map(formatIssue), ""].join("\n");
    expectGolden(join(dir, `${base}.golden`), text);
  });
});
