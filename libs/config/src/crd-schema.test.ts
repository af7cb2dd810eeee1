import { Type } from "@sinclair/typebox";
import { describe, expect, it } from "vitest";
import { toOpenApiSchema, type OpenApiSchema } from "./crd-schema.ts";
import { closed, Duration, mapOf, stringEnum, StringMatch } from "./schema/common.ts";
import { resourceKinds } from "./resource-kinds.ts";

/** Kubernetes' structural-schema rules that matter here (apiextensions "Specifying a structural schema"). */
function structuralViolations(schema: OpenApiSchema, path = "spec"): string[] {
  const out: string[] = [];
  if (schema["type"] === undefined && schema["x-kubernetes-preserve-unknown-fields"] !== true) out.push(`${path}: no type`);
  if (schema["additionalProperties"] === false) out.push(`${path}: additionalProperties false`);
  if (schema["properties"] && schema["additionalProperties"]) out.push(`${path}: properties with additionalProperties`);
  for (const [key, child] of Object.entries((schema["properties"] ?? {}) as Record<string, OpenApiSchema>)) out.push(...structuralViolations(child, `${path}.${key}`));
  if (schema["items"]) out.push(...structuralViolations(schema["items"] as OpenApiSchema, `${path}[]`));
  if (typeof schema["additionalProperties"] === "object") out.push(...structuralViolations(schema["additionalProperties"] as OpenApiSchema, `${path}{}`));
  return out;
}

describe("toOpenApiSchema", () => {
  it("renders objects, maps, enums, durations and oneofs the way Istio's CRDs do", () => {
    const schema = closed(
      {
        match: Type.Optional(StringMatch),
        labels: Type.Optional(mapOf(Type.String())),
        mode: stringEnum(["A", "B"]),
        timeout: Type.Optional(Duration({ description: "per try" })),
        weight: Type.Optional(Type.Integer({ minimum: 0, maximum: 100 })),
      },
      { description: "a route" },
    );
    expect(toOpenApiSchema(schema)).toEqual({
      description: "a route",
      type: "object",
      required: ["mode"],
      properties: {
        match: {
          description: expect.any(String),
          type: "object",
          properties: {
            exact: { description: "exact string match", type: "string" },
            prefix: { description: "prefix-based match", type: "string" },
            regex: { description: "RE2 style regex-based match (https://github.com/google/re2/wiki/Syntax)", type: "string" },
          },
          oneOf: [
            { not: { anyOf: [{ required: ["exact"] }, { required: ["prefix"] }, { required: ["regex"] }] } },
            { required: ["exact"] },
            { required: ["prefix"] },
            { required: ["regex"] },
          ],
        },
        labels: { type: "object", additionalProperties: { type: "string" } },
        mode: { type: "string", enum: ["A", "B"] },
        timeout: { description: "per try", type: "string", format: "duration" },
        weight: { type: "integer", minimum: 0, maximum: 100 },
      },
    });
  });

  it.each(resourceKinds.map((k) => [k.kind, k] as const))("%s renders a structural schema", (_name, kind) => {
    expect(structuralViolations(toOpenApiSchema(kind.spec))).toEqual([]);
  });
});
