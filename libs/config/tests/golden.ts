// Golden-file comparison for data-driven tests: compare with `<case>.golden`, or rewrite it when
// UPDATE_TESTDATA=1 (then review the diff before committing).
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { expect } from "vitest";

export const updating = process.env["UPDATE_TESTDATA"] === "1";

export function expectGolden(goldenPath: string, actual: string): void {
  if (updating) {
    writeFileSync(goldenPath, actual);
    return;
  }
  expect(existsSync(goldenPath), `${goldenPath} is missing: run with UPDATE_TESTDATA=1 and review it`).toBe(true);
  expect(actual).toBe(readFileSync(goldenPath, "utf8"));
}
