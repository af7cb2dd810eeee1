// Runs a data-driven test file against a handler inside a vitest test, like cockroachdb/datadriven's
// RunTest: each case's actual output must equal its expected output, or with UPDATE_TESTDATA=1 the
// file is rewritten with the actual outputs (review the diff before committing).

import { readFileSync, writeFileSync } from "node:fs";
import { relative } from "node:path";
import { expect } from "vitest";
import { formatDataDriven, normalizeOutput, parseDataDriven, type DataDrivenCase, type DataDrivenChunk } from "./parse-data-driven.ts";

/** Computes one case's actual output. Cases of a file run in order, so a handler may keep state across them. */
export type DataDrivenHandler = (testCase: DataDrivenCase) => string;
/** As `DataDrivenHandler`, for handlers that await. */
export type AsyncDataDrivenHandler = (testCase: DataDrivenCase) => string | Promise<string>;

/** True when UPDATE_TESTDATA is "1" or "true": data-driven files and goldens are rewritten, not checked. */
export function isUpdatingTestdata(): boolean {
  const value = process.env["UPDATE_TESTDATA"];
  return value === "1" || value === "true";
}

/**
 * Runs every case of the file at `path` through `handler`, in file order, and fails the current
 * test at the first case whose output differs from the expected one, naming `file:line` and the
 * directive. The handler must be synchronous (see `runDataDrivenAsync`). A handler that throws fails
 * the test with the case's position prefixed to the message.
 */
export function runDataDriven(path: string, handler: DataDrivenHandler): void {
  const { chunks, cases } = readCases(path);
  const outputs: string[] = [];
  for (const testCase of cases) {
    const actual = callHandler(testCase, () => {
      const result: unknown = handler(testCase);
      if (typeof result !== "string") {
        throw new Error(`the handler returned ${describeValue(result)} instead of a string (use runDataDrivenAsync for async handlers)`);
      }
      return result;
    });
    outputs.push(check(testCase, actual));
  }
  finish(path, chunks, outputs);
}

/** As `runDataDriven`, for a handler that may return a promise; await it. */
export async function runDataDrivenAsync(path: string, handler: AsyncDataDrivenHandler): Promise<void> {
  const { chunks, cases } = readCases(path);
  const outputs: string[] = [];
  for (const testCase of cases) {
    let actual: string;
    try {
      actual = await handler(testCase);
    } catch (error) {
      throw wrapError(testCase, error);
    }
    outputs.push(check(testCase, actual));
  }
  finish(path, chunks, outputs);
}

function readCases(path: string): { chunks: DataDrivenChunk[]; cases: DataDrivenCase[] } {
  const chunks = parseDataDriven(readFileSync(path, "utf8"), displayPath(path));
  const cases = chunks.flatMap((chunk) => (chunk.type === "case" ? [chunk.case] : []));
  return { chunks, cases };
}

function callHandler(testCase: DataDrivenCase, run: () => string): string {
  try {
    return run();
  } catch (error) {
    throw wrapError(testCase, error);
  }
}

/** Prefixes the case's position; keeps the error object itself so assertion diffs survive. */
function wrapError(testCase: DataDrivenCase, error: unknown): Error {
  const prefix = `${testCase.pos}: ${testCase.directive}: `;
  if (!(error instanceof Error)) return new Error(`${prefix}${String(error)}`, { cause: error });
  error.message = `${prefix}${error.message}`;
  return error;
}

function check(testCase: DataDrivenCase, actual: string): string {
  const output = normalizeOutput(actual);
  if (!isUpdatingTestdata()) {
    expect(output, `${testCase.pos}: ${testCase.directive} (UPDATE_TESTDATA=1 rewrites the file)`).toBe(testCase.expected);
  }
  return output;
}

function finish(path: string, chunks: readonly DataDrivenChunk[], outputs: readonly string[]): void {
  if (!isUpdatingTestdata()) return;
  const text = formatDataDriven(chunks, outputs);
  if (text !== readFileSync(path, "utf8")) writeFileSync(path, text);
}

function displayPath(path: string): string {
  const rel = relative(process.cwd(), path);
  return rel.startsWith("..") ? path : rel;
}

function describeValue(value: unknown): string {
  if (value instanceof Promise) return "a promise";
  return value === null ? "null" : typeof value;
}
