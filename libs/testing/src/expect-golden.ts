// Whole-file golden comparison: a test renders its output and compares it with a checked-in file,
// which UPDATE_TESTDATA=1 rewrites instead (review the diff before committing).

import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname } from "node:path";
import { expect } from "vitest";
import { isUpdatingTestdata } from "./run-data-driven.ts";

/**
 * Fails the current test unless the file at `goldenPath` holds exactly `actual`. With
 * UPDATE_TESTDATA=1 it writes `actual` there instead (creating directories), and passes.
 */
export function expectGolden(goldenPath: string, actual: string): void {
  if (isUpdatingTestdata()) {
    if (!existsSync(goldenPath) || readFileSync(goldenPath, "utf8") !== actual) {
      mkdirSync(dirname(goldenPath), { recursive: true });
      writeFileSync(goldenPath, actual);
    }
    return;
  }
  expect(existsSync(goldenPath), `${goldenPath} is missing: run with UPDATE_TESTDATA=1 to create it, then review it`).toBe(true);
  expect(actual, `${goldenPath} differs (UPDATE_TESTDATA=1 rewrites it)`).toBe(readFileSync(goldenPath, "utf8"));
}
