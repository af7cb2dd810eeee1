// fast-check generators derived from a TypeBox schema: values as a user would write them (wire
// form) that satisfy the schema — required fields, ranges, patterns, enums, oneof groups.
import { Kind, type TSchema } from "@sinclair/typebox";
import fc, { type Arbitrary } from "fast-check";
import { ExclusiveKeyword } from "../src/schema/common.ts";
import { formatDurationMs } from "../src/duration.ts";

type AnySchema = TSchema & Record<string | symbol, unknown>;

const safeKey = fc.string({ minLength: 1, maxLength: 8 }).filter((k) => k !== "__proto__");

export function arbitraryFromSchema(schema: TSchema): Arbitrary<unknown> {
  const s = schema as AnySchema;
  switch (s[Kind]) {
    case "Object": {
      const properties = (s["properties"] ?? {}) as Record<string, TSchema>;
      const required = (s["required"] ?? []) as string[];
      const groups = (s[ExclusiveKeyword] ?? []) as string[][];
      const model = Object.fromEntries(Object.entries(properties).map(([k, v]) => [k, arbitraryFromSchema(v)]));
      return fc.record(model, { requiredKeys: required }).map((value) => {
        const out: Record<string, unknown> = { ...value };
        for (const group of groups) {
          const present = group.filter((k) => out[k] !== undefined);
          for (const extra of present.slice(1)) delete out[extra];
        }
        return out;
      });
    }
    case "Record": {
      const [pattern, valueSchema] = Object.entries(s["patternProperties"] as Record<string, TSchema>)[0] as [string, TSchema];
      const key = pattern === "^(.*)$" ? safeKey : fc.stringMatching(new RegExp(pattern)).filter((k) => k !== "__proto__");
      return fc.dictionary(key, arbitraryFromSchema(valueSchema), { maxKeys: 3 });
    }
    case "Array": {
      const minLength = (s["minItems"] as number | undefined) ?? 0;
      const maxLength = Math.max(minLength, Math.min((s["maxItems"] as number | undefined) ?? 2, 2));
      return fc.array(arbitraryFromSchema(s["items"] as TSchema), { minLength, maxLength });
    }
    case "String": {
      if (s["format"] === "duration") return fc.integer({ min: 0, max: 86_400_000 }).map((ms) => formatDurationMs(ms));
      if (typeof s["pattern"] === "string") return fc.stringMatching(new RegExp(s["pattern"] as string));
      const minLength = (s["minLength"] as number | undefined) ?? 0;
      const maxLength = Math.max(minLength, Math.min((s["maxLength"] as number | undefined) ?? 12, 12));
      return fc.string({ minLength, maxLength });
    }
    case "Integer":
      return fc.integer({ min: (s["minimum"] as number | undefined) ?? -1_000_000, max: (s["maximum"] as number | undefined) ?? 1_000_000 });
    case "Number":
      return fc
        .double({ min: (s["minimum"] as number | undefined) ?? -1e6, max: (s["maximum"] as number | undefined) ?? 1e6, noNaN: true, noDefaultInfinity: true })
        .map((x) => (Object.is(x, -0) ? 0 : x));
    case "Boolean":
      return fc.boolean();
    case "Literal":
      return fc.constant(s["const"]);
    case "Union":
      return fc.oneof(...(s["anyOf"] as TSchema[]).map(arbitraryFromSchema));
    case "Unknown":
    case "Any":
      return fc.constantFrom("text", 42, true, { nested: ["a", 1] });
    default:
      throw new Error(`arbitraryFromSchema: unsupported kind ${String(s[Kind])}`);
  }
}
