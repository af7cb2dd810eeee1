// Data-driven validation cases: every testdata/cases/<name>.yaml is loaded; the issues (as
// meshctl prints them) and the decoded model of the accepted resources must equal <name>.golden.
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { stringify } from "yaml";
import { describe, it } from "vitest";
import { formatIssue, loadResources, sortIssues } from "../src/index.ts";
import { expectGolden } from "./golden.ts";

const dir = join(import.meta.dirname, "../testdata/cases");
const cases = readdirSync(dir).filter((f) => f.endsWith(".yaml")).sort();

/** The golden text of one input: issues first, then each accepted resource's decoded form. */
export function renderLoad(path: string, text: string): string {
  const { resources, issues } = loadResources([{ path, text }]);
  const issueLines = sortIssues(issues).map(formatIssue);
  const model = resources.map((r) => ({ kind: r.kind, name: `${r.metadata.namespace ? `${r.metadata.namespace}/` : ""}${r.metadata.name}`, spec: r.spec }));
  return [`# issues: ${issues.length}`, ...issueLines, `# resources: ${resources.length}`, stringify(model, { lineWidth: 0 })].join("\n");
}

describe("testdata/cases", () => {
  it.each(cases)("%s", (file) => {
    const text = readFileSync(join(dir, file), "utf8");
    expectGolden(join(dir, file.replace(/\.yaml$/, ".golden")), renderLoad(`cases/${file}`, text));
  });
});
