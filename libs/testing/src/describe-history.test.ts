import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { describeHistory } from "./describe-history.ts";
import { expectGolden } from "./expect-golden.ts";
import type { KvOperation } from "./kv-model.ts";

const history: KvOperation[] = [
  { clientId: 1, input: { op: "put", key: "x", value: "a" }, call: 0, return: 40, output: {} },
  { clientId: 2, input: { op: "get", key: "x" }, call: 10, return: 20, output: { value: null } },
  { clientId: 3, input: { op: "cas", key: "x", expected: "a", value: "b" }, call: 30, return: undefined },
  { clientId: 1, input: { op: "get", key: "y" }, call: 50, return: 60, output: { value: "q" } },
  { clientId: 4, input: { op: "append", key: "x", value: "c" }, call: 70, return: 70, output: {} },
];

describe("describeHistory", () => {
  it("draws one line per operation in call order with a time line (testdata/describe-history.golden)", () => {
    expectGolden(join(import.meta.dirname, "../testdata/describe-history.golden"), `${describeHistory(history)}\n`);
  });

  it("shows only one key's operations when asked", () => {
    const text = describeHistory(history, { key: "y", timelineWidth: 0, title: "y" });
    expect(text).toBe('y:\n  client 1  [50, 60]  get(y) → "q"');
  });

  it("falls back to JSON for models that do not describe operations", () => {
    const text = describeHistory([{ clientId: "a", input: { n: 1 }, call: 0, return: 1, output: 2 }], {
      model: { init: () => 0, step: (s: number) => [true, s], hash: String },
      timelineWidth: 0,
    });
    expect(text).toContain('{"n":1} → 2');
  });
});
