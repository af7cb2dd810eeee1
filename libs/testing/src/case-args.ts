// Typed access to a data-driven case's arguments, failing with the case's position when an argument
// is missing or malformed (the role of datadriven's ScanArgs).

import type { DataDrivenCase } from "./parse-data-driven.ts";

/** True when the directive names `name`, with or without values. */
export function hasArg(testCase: DataDrivenCase, name: string): boolean {
  return Object.hasOwn(testCase.args, name);
}

/** The single value of `name`; `fallback` when absent; throws when absent without fallback or given several values. */
export function stringArg(testCase: DataDrivenCase, name: string, fallback?: string): string {
  const values = testCase.args[name];
  if (values === undefined) {
    if (fallback !== undefined) return fallback;
    throw new Error(`${testCase.pos}: ${testCase.cmd} needs the argument ${name}=...`);
  }
  const [value] = values;
  if (values.length !== 1 || value === undefined) {
    throw new Error(`${testCase.pos}: ${name} takes one value, got (${values.join(", ")})`);
  }
  return value;
}

/** The single value of `name` as a safe integer; `fallback` when absent. */
export function intArg(testCase: DataDrivenCase, name: string, fallback?: number): number {
  if (!hasArg(testCase, name) && fallback !== undefined) return fallback;
  return toInt(testCase, name, stringArg(testCase, name));
}

/** The values of `name` (`[]` when absent). */
export function listArg(testCase: DataDrivenCase, name: string): readonly string[] {
  return testCase.args[name] ?? [];
}

/** The values of `name` as safe integers (`[]` when absent). */
export function intListArg(testCase: DataDrivenCase, name: string): number[] {
  return listArg(testCase, name).map((value) => toInt(testCase, name, value));
}

function toInt(testCase: DataDrivenCase, name: string, value: string): number {
  const n = Number(value);
  if (value.trim() === "" || !Number.isSafeInteger(n)) {
    throw new Error(`${testCase.pos}: ${name}=${value} is not an integer`);
  }
  return n;
}
