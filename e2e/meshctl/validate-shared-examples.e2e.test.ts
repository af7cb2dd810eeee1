// The built meshctl (what `npm i -g` or a container runs: plain node on dist/) validates the
// team's shared Istio examples as they are in ../shared/examples: all clean, and the two files
// extracted with broken indentation rejected with their line and field.
import { execFileSync, spawnSync } from "node:child_process";
import { existsSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";

const repo = join(import.meta.dirname, "../..");
const meshctl = join(repo, "apps/meshctl/dist/main.js");
// CI runs in a fresh clone with shared/ beside it; the repo keeps a copy for runs without it.
const sharedExamples = [join(repo, "../shared/examples"), join(repo, "libs/config/testdata/examples")].find(existsSync) as string;

function run(...args: string[]) {
  const result = spawnSync(process.execPath, [meshctl, ...args], { encoding: "utf8", cwd: repo });
  return { code: result.status, stdout: result.stdout, stderr: result.stderr };
}

describe("built meshctl on the shared examples", () => {
  beforeAll(() => {
    execFileSync("npx", ["tsc", "-b", "apps/meshctl/tsconfig.lib.json"], { cwd: repo, stdio: "inherit" });
  });

  const examples = readdirSync(sharedExamples).filter((f) => f.endsWith(".yaml")).sort();

  it("finds the ten examples", () => {
    expect(examples).toHaveLength(10);
  });

  it("validates every example clean, one file at a time (exit 0)", () => {
    for (const file of examples) {
      const result = run("validate", "-f", join(sharedExamples, file));
      expect(result.code, `${file}: ${result.stdout}${result.stderr}`).toBe(0);
    }
  });

  it("rejects the extracted seeds with line, column and field (exit 1, JSON output)", () => {
    const result = run("validate", "-f", join(sharedExamples, "seed-as-extracted"), "-o", "json");
    expect(result.code).toBe(1);
    const report = JSON.parse(result.stdout) as { issues: { file: string; line: number; column: number; field: string; name: string }[] };
    const found = report.issues.map((i) => `${i.file.split("/").pop()}:${i.line}:${i.column} ${i.name} ${i.field}`);
    expect(found).toEqual(
      expect.arrayContaining([
        "virtualservice-user-routing.yaml:11:7 UnknownField spec.http[0].match[0].end-user",
        "virtualservice-user-routing.yaml:15:7 UnknownField spec.http[0].route[0].host",
        "virtualservice-fault-delay.yaml:10:5 UnknownField spec.http[0].delay",
      ]),
    );
  });

  it("exits 2 on a usage error", () => {
    expect(run("validate").code).toBe(2);
  });
});
