import { describe, expect, it } from "vitest";
import { shapeMismatches } from "./consul-client.ts";

describe("shapeMismatches", () => {
  it("reports missing fields and wrong types, recursively, and skips what it is told to", () => {
    const example = [{ Key: "k", Flags: 0, Node: { Meta: { a: "b" }, Port: 1 }, Namespace: "default" }];
    expect(shapeMismatches([{ Key: "k", Flags: 0, Node: { Meta: {}, Port: 2 } }], example)).toEqual([]);
    expect(shapeMismatches([{ Key: 1, Node: { Meta: { a: 1 } } }], example)).toEqual(["$[0].Key: expected string, got 1", "$[0].Flags: missing", "$[0].Node.Meta: expected a string map", "$[0].Node.Port: missing"]);
    expect(shapeMismatches({}, example)).toEqual(["$: expected an array, got {}"]);
    expect(shapeMismatches([{ Key: "k", Flags: 0, Node: { Meta: {}, Port: 2 } }], example, [])).toEqual(["$[0].Namespace: missing"]);
  });
});
