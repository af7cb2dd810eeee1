// Runs the real meshctl CLI (src/main.ts through tsx, workspace libs from source) as a child
// process against fixture files, and checks exit codes, stdout and stderr as a user would see them.

import { spawn } from "node:child_process";
import { readdirSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { cleanEnv, meshctl, meshctlMain, workspaceRoot, type Run } from "./support/run-meshctl.ts";
const fixtures = "apps/meshctl/tests/fixtures";
const examples = "libs/config/testdata/examples";

interface JsonReport {
  readonly issues: { code: string; name: string; severity: string; file?: string; line?: number; column?: number; field?: string }[];
  readonly resources: number;
}

describe("meshctl", { timeout: 30_000 }, () => {
  describe("usage", () => {
    it("prints the overview with --help (exit 0) and a usage error without a command (exit 2)", async () => {
      const help = await meshctl(["--help"]);
      expect(help.code).toBe(0);
      expect(help.stdout).toContain("Usage: meshctl COMMAND [flags]");
      expect(help.stdout).toMatch(/validate\s+Check mesh resources/);
      expect(help.stdout).toMatch(/analyze\s+Validate mesh resources/);
      expect(help.stdout).toMatch(/token issue\s+Mint a workload token/);

      const none = await meshctl([]);
      expect(none.code).toBe(2);
      expect(none.stdout).toBe("");
      expect(none.stderr).toMatch(/^meshctl: missing command\n/);
    });

    it("prints each command's flags with their env vars for --help", async () => {
      const validate = await meshctl(["validate", "--help"]);
      expect(validate.code).toBe(0);
      expect(validate.stdout).toMatch(/^Usage: meshctl validate -f FILE\|DIR/);
      expect(validate.stdout).toContain("-f, --filename FILE|DIR");
      expect(validate.stdout).toContain("env: MESHWORK_OUTPUT");
      expect(validate.stdout).toContain("env: MESHWORK_LOG_LEVEL");
      expect(validate.stdout).toContain("Exit codes: 0 no findings, 1 errors or warnings found, 2 usage error");

      const analyze = await meshctl(["analyze", "-h"]);
      expect(analyze.code).toBe(0);
      expect(analyze.stdout).toContain("--services FILE");
      expect(analyze.stdout).toContain("env: MESHWORK_NAMESPACE");
    });

    it("exits 2 naming the flag on a missing -f, an unknown flag or a bad value", async () => {
      const missing = await meshctl(["validate"]);
      expect(missing.code).toBe(2);
      expect(missing.stderr).toContain("meshctl validate: missing --filename (-f)");
      expect(missing.stderr).toContain('Run "meshctl validate --help" for usage.');

      const unknown = await meshctl(["validate", "-f", `${fixtures}/reviews.yaml`, "--outptu", "json"]);
      expect(unknown.code).toBe(2);
      expect(unknown.stderr).toContain("unknown flag --outptu: did you mean --output?");

      const badValue = await meshctl(["analyze", "-f", `${fixtures}/reviews.yaml`, "-o", "yaml"]);
      expect(badValue.code).toBe(2);
      expect(badValue.stderr).toContain('invalid value "yaml" for -o: expected one of human, json');

      const badEnv = await meshctl(["validate", "-f", `${fixtures}/reviews.yaml`], { env: { MESHWORK_LOG_LEVEL: "loud" } });
      expect(badEnv.code).toBe(2);
      expect(badEnv.stderr).toContain('invalid value "loud" in MESHWORK_LOG_LEVEL: expected one of debug, info, warn, error');
      expect(badEnv.stdout).toBe("");
    });

    it("exits 2 naming an unreadable file and the flag to fix", async () => {
      const run = await meshctl(["validate", "-f", `${fixtures}/reviews.yaml`, "-f", `${fixtures}/nope.yaml`]);
      expect(run.code).toBe(2);
      expect(run.stdout).toBe("");
      expect(run.stderr).toBe(
        `meshctl validate: cannot read "${fixtures}/nope.yaml": no such file or directory. Check the path given to -f.\n`,
      );
    });
  });

  describe("validate", () => {
    it("passes every example from the course material, file by file (exit 0)", { timeout: 90_000 }, async () => {
      // One run per file: several examples are alternative versions of the same resource.
      const files = readdirSync(`${workspaceRoot}/${examples}`).filter((name) => name.endsWith(".yaml"));
      expect(files.length).toBeGreaterThanOrEqual(10);
      const runs = await Promise.all(files.map((name) => meshctl(["validate", "-f", `${examples}/${name}`])));
      for (const [index, run] of runs.entries()) {
        expect({ file: files[index], code: run.code, stdout: run.stdout }).toEqual({
          file: files[index],
          code: 0,
          stdout: "No issues found (1 file, 1 resource loaded).\n",
        });
      }

      const json = await meshctl(["validate", "-f", `${examples}/01-virtualservice-user-routing.yaml`, "-o", "json"]);
      expect(JSON.parse(json.stdout)).toEqual({ issues: [], resources: 1 });
    });

    it("rejects both seed-as-extracted files (exit 1) with file, line, column and field", async () => {
      for (const name of ["virtualservice-fault-delay.yaml", "virtualservice-user-routing.yaml"]) {
        const file = `${examples}/seed-as-extracted/${name}`;
        const run = await meshctl(["validate", "-f", file]);
        expect(run.code, run.stdout).toBe(1);
        expect(run.stdout).toMatch(new RegExp(`^${file.replace(/[.]/g, "\\.")}:\\d+:\\d+: error MW\\d{4} \\w+ VirtualService \\S+ spec\\.http\\[\\d\\]`, "m"));
        expect(run.stdout).toMatch(/^Found \d+ errors? \(1 file, 0 resources loaded\)\.$/m);

        const json = JSON.parse((await meshctl(["validate", "-f", file, "-o", "json"])).stdout) as JsonReport;
        expect(json.resources).toBe(0);
        expect(json.issues.length).toBeGreaterThan(0);
        for (const issue of json.issues) {
          expect(issue).toMatchObject({ severity: "error", file });
          expect(issue.line).toBeGreaterThan(0);
          expect(issue.field).toMatch(/^spec\./);
        }
      }
    });

    it("points at the misplaced fields of the fault-delay seed", async () => {
      const file = `${examples}/seed-as-extracted/virtualservice-fault-delay.yaml`;
      const { issues } = JSON.parse((await meshctl(["validate", "-f", file, "-o", "json"])).stdout) as JsonReport;
      // `delay:` (line 10) belongs under `fault:`, and `host:` (line 16) under `destination:`.
      expect(issues).toEqual(
        expect.arrayContaining([
          expect.objectContaining({ name: "UnknownField", line: 10, column: 5, field: "spec.http[0].delay" }),
          expect.objectContaining({ name: "UnknownField", line: 16, column: 7, field: "spec.http[0].route[0].host" }),
        ]),
      );
    });

    it("reads the files of a directory in name order, and stdin with -f -", async () => {
      const dir = await meshctl(["validate", "-f", `${examples}/seed-as-extracted`, "-o", "json"]);
      expect(dir.code).toBe(1);
      const files = new Set((JSON.parse(dir.stdout) as JsonReport).issues.map((issue) => issue.file));
      expect([...files]).toEqual([
        `${examples}/seed-as-extracted/virtualservice-fault-delay.yaml`,
        `${examples}/seed-as-extracted/virtualservice-user-routing.yaml`,
      ]);

      const stdin = await meshctl(["validate", "-f", "-"], { input: '{"apiVersion":"networking.istio.io/v1","kind":"Gateway"}' });
      expect(stdin.code).toBe(1);
      expect(stdin.stdout).toMatch(/^<stdin>:1:\d+: error /m);
    });

    it("reports an unknown field in a JSON file, reading -o from MESHWORK_OUTPUT", async () => {
      const run = await meshctl(["validate", "-f", `${fixtures}/unknown-field.json`], { env: { MESHWORK_OUTPUT: "json" } });
      expect(run.code).toBe(1);
      expect((JSON.parse(run.stdout) as JsonReport).issues).toEqual([
        expect.objectContaining({ code: "MW0010", name: "UnknownField", file: `${fixtures}/unknown-field.json`, line: 7, field: "spec.trafficPolicy.retries" }),
      ]);
    });

    it("colours human output only when asked, since stdout is not a terminal here", async () => {
      const file = `${examples}/seed-as-extracted/virtualservice-user-routing.yaml`;
      expect((await meshctl(["validate", "-f", file])).stdout).not.toContain("\u001b[");
      expect((await meshctl(["validate", "-f", file, "--color=always"])).stdout).toContain("\u001b[31m");
    });
  });

  describe("analyze", () => {
    it("finds what validate cannot: a route to a subset no DestinationRule defines", async () => {
      const file = `${fixtures}/reviews-v4.yaml`;
      expect((await meshctl(["validate", "-f", file])).code).toBe(0);
      const run = await meshctl(["analyze", "-f", file]);
      expect(run.code).toBe(1);
      expect(run.stdout).toMatch(/^apps\/meshctl\/tests\/fixtures\/reviews-v4\.yaml:\d+:\d+: error MW0101 UnknownSubset VirtualService .*v4/m);
    });

    it("passes consistent resources, and checks hosts against the --services snapshot", async () => {
      const file = `${fixtures}/reviews.yaml`;
      const clean = await meshctl(["analyze", "-f", file, "--services", `${fixtures}/services.yaml`, "-o", "json"]);
      expect(JSON.parse(clean.stdout)).toEqual({ issues: [], resources: 2 });
      expect(clean.code).toBe(0);

      const missing = await meshctl(["analyze", "-f", file, "--services", `${fixtures}/services-without-reviews.yaml`, "-o", "json"]);
      expect(missing.code).toBe(1);
      expect((JSON.parse(missing.stdout) as JsonReport).issues.map((issue) => issue.name)).toContain("HostNotFound");
    });

    it("exits 2 on a missing or malformed --services file, saying what is wrong", async () => {
      const file = `${fixtures}/reviews.yaml`;
      const absent = await meshctl(["analyze", "-f", file, "--services", `${fixtures}/none.yaml`]);
      expect(absent.code).toBe(2);
      expect(absent.stderr).toContain(`cannot read "${fixtures}/none.yaml": no such file or directory. Check the path given to --services.`);

      const malformed = await meshctl(["analyze", "-f", file, "--services", `${fixtures}/services-malformed.yaml`]);
      expect(malformed.code).toBe(2);
      expect(malformed.stderr).toBe(
        `meshctl analyze: --services "${fixtures}/services-malformed.yaml": services[0].namespace: expected a non-empty string, got nothing\n`,
      );
    });
  });

  describe("stopping", () => {
    it("stops on SIGTERM while waiting for stdin: exit 143, JSON logs on stderr, nothing on stdout", async () => {
      const result = await new Promise<Run>((resolve, reject) => {
        const child = spawn(process.execPath, ["--import", "tsx", "--conditions=@meshwork/source", meshctlMain, "validate", "-f", "-"], {
          cwd: workspaceRoot,
          env: cleanEnv({ MESHWORK_LOG_LEVEL: "debug" }),
        });
        let stdout = "";
        let stderr = "";
        child.stdout.setEncoding("utf8").on("data", (chunk: string) => (stdout += chunk));
        child.stderr.setEncoding("utf8").on("data", (chunk: string) => {
          const wasWaiting = stderr.includes('"msg":"reading sources"');
          stderr += chunk;
          // stdin stays open, so meshctl is now blocked reading it: interrupt it.
          if (!wasWaiting && stderr.includes('"msg":"reading sources"')) child.kill("SIGTERM");
        });
        child.on("error", reject);
        child.on("close", (code) => resolve({ code, stdout, stderr }));
      });
      expect(result.code).toBe(143);
      expect(result.stdout).toBe("");
      const records = result.stderr
        .trim()
        .split("\n")
        .map((line) => JSON.parse(line) as Record<string, unknown>);
      expect(records.map((record) => record["msg"])).toEqual(["reading sources", "stop signal received", "stopped"]);
      expect(records[0]).toMatchObject({ level: "debug", name: "meshctl", command: "validate", paths: ["-"] });
      expect(records[1]).toMatchObject({ level: "info", name: "meshctl", signal: "SIGTERM" });
      expect(records[2]).toMatchObject({ exitCode: 143 });
    });
  });
});
