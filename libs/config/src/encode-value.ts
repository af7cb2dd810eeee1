// The inverse of check-value's decoding: turns a decoded value back into what a user writes
// (milliseconds back to duration strings), e.g. to print a resource as YAML.
import { Kind, TransformKind, type TSchema } from "@sinclair/typebox";

type AnySchema = TSchema & Record<string | symbol, unknown>;

/** Encodes a value that checkValue() decoded with the same schema. */
export function encodeValue(schema: TSchema, value: unknown): unknown {
  const s = schema as AnySchema;
  const transform = s[TransformKind] as { Encode: (v: unknown) => unknown } | undefined;
  const plain = transform ? transform.Encode(value) : value;
  if (plain === null || typeof plain !== "object") return plain;
  switch (s[Kind]) {
    case "Object": {
      const properties = (s["properties"] ?? {}) as Record<string, TSchema>;
      const out: Record<string, unknown> = {};
      for (const [key, v] of Object.entries(plain)) {
        const fieldSchema = properties[key];
        out[key] = fieldSchema ? encodeValue(fieldSchema, v) : v;
      }
      return out;
    }
    case "Record": {
      const [, valueSchema] = Object.entries(s["patternProperties"] as Record<string, TSchema>)[0] as [string, TSchema];
      return Object.fromEntries(Object.entries(plain).map(([k, v]) => [k, encodeValue(valueSchema, v)]));
    }
    case "Array":
      return (plain as unknown[]).map((item) => encodeValue(s["items"] as TSchema, item));
    default:
      return plain;
  }
}
