import { describe, expect, it } from "vitest";
import { kvModel, type KvOperation } from "./kv-model.ts";

describe("kvModel", () => {
  it("step() follows a sequential KV store", () => {
    expect(kvModel.step(null, { op: "get", key: "x" }, { value: null })).toEqual([true, null]);
    expect(kvModel.step("a", { op: "get", key: "x" }, { value: "b" })).toEqual([false, "a"]);
    expect(kvModel.step("a", { op: "put", key: "x", value: "b" }, {})).toEqual([true, "b"]);
    expect(kvModel.step("a", { op: "delete", key: "x" }, {})).toEqual([true, null]);
    expect(kvModel.step(null, { op: "append", key: "x", value: "b" }, {})).toEqual([true, "b"]);
    expect(kvModel.step("a", { op: "append", key: "x", value: "b" }, {})).toEqual([true, "ab"]);
    expect(kvModel.step("a", { op: "cas", key: "x", expected: "a", value: "b" }, { ok: true })).toEqual([true, "b"]);
    expect(kvModel.step("a", { op: "cas", key: "x", expected: "a", value: "b" }, { ok: false })).toEqual([false, "b"]);
    expect(kvModel.step("c", { op: "cas", key: "x", expected: "a", value: "b" }, { ok: false })).toEqual([true, "c"]);
    expect(kvModel.step(null, { op: "cas", key: "x", expected: null, value: "b" }, { ok: true })).toEqual([true, "b"]);
  });

  it("step() accepts any result of a pending operation", () => {
    expect(kvModel.step("a", { op: "get", key: "x" }, undefined)).toEqual([true, "a"]);
    expect(kvModel.step("a", { op: "cas", key: "x", expected: "a", value: "b" }, undefined)).toEqual([true, "b"]);
    expect(kvModel.step("c", { op: "cas", key: "x", expected: "a", value: "b" }, undefined)).toEqual([true, "c"]);
  });

  it("step() refuses outputs without the field the operation returns", () => {
    expect(() => kvModel.step(null, { op: "get", key: "x" }, {})).toThrow(/no value field/);
    expect(() => kvModel.step(null, { op: "cas", key: "x", expected: null, value: "b" }, {})).toThrow(/no ok field/);
  });

  it("hashes absent apart from every string", () => {
    expect(kvModel.hash(null)).not.toBe(kvModel.hash(""));
    expect(kvModel.hash("\u0000")).not.toBe(kvModel.hash(null));
  });

  it("partitions by key in key order, keeping each key's operations in order", () => {
    const op = (key: string, value: string): KvOperation => ({ clientId: 1, input: { op: "put", key, value }, call: 0, return: 1, output: {} });
    const parts = kvModel.partition?.([op("y", "1"), op("x", "2"), op("y", "3")]) ?? [];
    expect(parts.map((p) => [p.key, p.operations.map((o) => ("value" in o.input ? o.input.value : ""))])).toEqual([
      ["x", ["2"]],
      ["y", ["1", "3"]],
    ]);
  });
});
