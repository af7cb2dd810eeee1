// Kubernetes label selectors as Gateway listeners' allowedRoutes.namespaces.selector uses them.
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { selectsLabels, type LabelSelector } from "./selects-labels.ts";

const labels = { team: "shop", env: "prod" };

describe("selectsLabels", () => {
  it("selects everything with an empty selector", () => {
    expect(selectsLabels({}, labels)).toBe(true);
    expect(selectsLabels({}, {})).toBe(true);
  });

  it("needs every matchLabels pair", () => {
    expect(selectsLabels({ matchLabels: { team: "shop" } }, labels)).toBe(true);
    expect(selectsLabels({ matchLabels: { team: "shop", env: "dev" } }, labels)).toBe(false);
    expect(selectsLabels({ matchLabels: { owner: "x" } }, labels)).toBe(false);
  });

  it("In needs the label set to one of the values", () => {
    expect(selectsLabels({ matchExpressions: [{ key: "env", operator: "In", values: ["dev", "prod"] }] }, labels)).toBe(true);
    expect(selectsLabels({ matchExpressions: [{ key: "env", operator: "In", values: ["dev"] }] }, labels)).toBe(false);
    expect(selectsLabels({ matchExpressions: [{ key: "owner", operator: "In", values: ["x"] }] }, labels)).toBe(false);
  });

  it("NotIn admits an unset label and a value outside the list", () => {
    expect(selectsLabels({ matchExpressions: [{ key: "env", operator: "NotIn", values: ["dev"] }] }, labels)).toBe(true);
    expect(selectsLabels({ matchExpressions: [{ key: "owner", operator: "NotIn", values: ["x"] }] }, labels)).toBe(true);
    expect(selectsLabels({ matchExpressions: [{ key: "env", operator: "NotIn", values: ["prod"] }] }, labels)).toBe(false);
  });

  it("Exists and DoesNotExist look at the key only", () => {
    expect(selectsLabels({ matchExpressions: [{ key: "team", operator: "Exists" }] }, labels)).toBe(true);
    expect(selectsLabels({ matchExpressions: [{ key: "owner", operator: "Exists" }] }, labels)).toBe(false);
    expect(selectsLabels({ matchExpressions: [{ key: "owner", operator: "DoesNotExist" }] }, labels)).toBe(true);
    expect(selectsLabels({ matchExpressions: [{ key: "team", operator: "DoesNotExist" }] }, labels)).toBe(false);
    // A label set to "" exists.
    expect(selectsLabels({ matchExpressions: [{ key: "flag", operator: "Exists" }] }, { flag: "" })).toBe(true);
  });

  it("does not take inherited properties for labels", () => {
    expect(selectsLabels({ matchExpressions: [{ key: "toString", operator: "Exists" }] }, {})).toBe(false);
  });

  it("agrees with a reference model: the AND of each requirement on its own", () => {
    const key = fc.constantFrom("a", "b", "c");
    const value = fc.constantFrom("1", "2", "");
    const requirement = fc.record({ key, operator: fc.constantFrom("In" as const, "NotIn" as const, "Exists" as const, "DoesNotExist" as const), values: fc.array(value, { maxLength: 2 }) });
    const selector = fc.record({ matchLabels: fc.dictionary(key, value, { maxKeys: 2 }), matchExpressions: fc.array(requirement, { maxLength: 3 }) });
    const model = (s: LabelSelector, l: Record<string, string>): boolean =>
      Object.entries(s.matchLabels ?? {}).every(([k, v]) => l[k] === v) &&
      (s.matchExpressions ?? []).every((r) => {
        const has = Object.keys(l).includes(r.key);
        if (r.operator === "Exists") return has;
        if (r.operator === "DoesNotExist") return !has;
        const inList = has && (r.values ?? []).includes(l[r.key] as string);
        return r.operator === "In" ? inList : !inList;
      });
    fc.assert(
      fc.property(selector, fc.dictionary(key, value, { maxKeys: 3 }), (s, l) => {
        expect(selectsLabels(s, l)).toBe(model(s, l));
      }),
      { numRuns: 300, seed: 20261125 },
    );
  });
});
