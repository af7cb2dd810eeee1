#!/usr/bin/env node
// `npm test`: lint, typecheck and every project's tests, then one plain summary line
// `N passed, N failed` (lint and typecheck count as one check each; every test counts as one).
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

const env = { ...process.env, NX_NO_CLOUD: "true", NX_DAEMON: "false", NX_TUI: "false", FORCE_COLOR: process.env.FORCE_COLOR ?? "0" };
const bin = (name) => join("node_modules", ".bin", name);
let passed = 0;
let failed = 0;

function step(title, command, args) {
  console.log(`\n=== ${title}: ${command} ${args.join(" ")}`);
  const result = spawnSync(command, args, { stdio: "inherit", env });
  const ok = result.status === 0;
  console.log(`=== ${title}: ${ok ? "ok" : `FAILED (exit ${result.status ?? result.signal})`}`);
  return ok;
}

for (const [title, command, args] of [
  ["lint", bin("eslint"), ["--max-warnings", "0", "."]],
  ["typecheck", bin("nx"), ["run-many", "-t", "typecheck", "--outputStyle=static"]],
]) {
  if (step(title, command, args)) passed++;
  else failed++;
}

const reportDir = mkdtempSync(join(tmpdir(), "meshwork-test-"));
const reportFile = join(reportDir, "vitest.json");
const testsOk = step("tests", bin("vitest"), [
  "run",
  "--config",
  "vitest.workspace.config.ts",
  "--reporter=default",
  "--reporter=json",
  `--outputFile.json=${reportFile}`,
  ...process.argv.slice(2),
]);
try {
  const report = JSON.parse(readFileSync(reportFile, "utf8"));
  passed += report.numPassedTests;
  failed += report.numFailedTests;
  // A suite that fails to load has no tests to count; count it as a failure.
  failed += report.testResults.filter((r) => r.status === "failed" && r.assertionResults.length === 0).length;
  if (!testsOk && report.numFailedTests === 0) failed++;
} catch {
  failed++;
  console.log("=== tests: no vitest report was written");
} finally {
  rmSync(reportDir, { recursive: true, force: true });
}

console.log(`\n${passed} passed, ${failed} failed`);
process.exit(failed === 0 ? 0 : 1);
