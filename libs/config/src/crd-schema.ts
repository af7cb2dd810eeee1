// Turns a spec's TypeBox schema into a Kubernetes structural openAPIV3Schema, so the CRDs in
// deploy/k8s/crds are generated from the same source as validation and the TS types.
import { Kind, type TSchema } from "@sinclair/typebox";
import { ExclusiveKeyword } from "./schema/common.ts";

/** A JSON value of an openAPIV3Schema. */
export type OpenApiSchema = { [key: string]: unknown };

// Formats the API server understands (k8s.io/kube-openapi strfmt); others are dropped.
const kubernetesFormats = new Set(["int32", "int64", "float", "double", "byte", "date", "date-time", "duration", "uri", "email", "hostname", "ipv4", "ipv6", "cidr", "uuid"]);

/**
 * Converts to a structural schema (Kubernetes rules): every node has a type, objects list their
 * properties (unknown ones are pruned by the API server; Meshwork's admission rejects them),
 * maps use additionalProperties (their key patterns cannot be expressed and are checked by
 * Meshwork's admission), protobuf oneofs become Istio's `oneOf` of `required`.
 */
export function toOpenApiSchema(schema: TSchema): OpenApiSchema {
  const s = schema as TSchema & Record<string | symbol, unknown>;
  const common: OpenApiSchema = {};
  // Defaults are left out on purpose: the API server would write them into stored objects, which
  // Istio's CRDs do not do; Meshwork applies them when it decodes a resource.
  if (typeof s["description"] === "string") common["description"] = s["description"];
  switch (s[Kind]) {
    case "Object": {
      const properties = (s["properties"] ?? {}) as Record<string, TSchema>;
      const out: OpenApiSchema = { ...common, type: "object" };
      if (Object.keys(properties).length > 0) {
        out["properties"] = Object.fromEntries(Object.entries(properties).map(([k, v]) => [k, toOpenApiSchema(v)]));
      } else {
        out["x-kubernetes-preserve-unknown-fields"] = true;
      }
      const required = s["required"] as string[] | undefined;
      if (required && required.length > 0) out["required"] = [...required];
      const groups = (s[ExclusiveKeyword] ?? []) as string[][];
      if (groups.length === 1) out["oneOf"] = oneOfRequired(groups[0] as string[]);
      if (groups.length > 1) out["allOf"] = groups.map((g) => ({ oneOf: oneOfRequired(g) }));
      return out;
    }
    case "Record": {
      const [, value] = Object.entries(s["patternProperties"] as Record<string, TSchema>)[0] as [string, TSchema];
      return { ...common, type: "object", additionalProperties: toOpenApiSchema(value) };
    }
    case "Array": {
      const out: OpenApiSchema = { ...common, type: "array", items: toOpenApiSchema(s["items"] as TSchema) };
      copy(s, out, ["minItems", "maxItems"]);
      return out;
    }
    case "String": {
      const out: OpenApiSchema = { ...common, type: "string" };
      if (typeof s["format"] === "string" && kubernetesFormats.has(s["format"])) out["format"] = s["format"];
      copy(s, out, ["pattern", "minLength", "maxLength"]);
      return out;
    }
    case "Integer":
    case "Number": {
      const out: OpenApiSchema = { ...common, type: s[Kind] === "Integer" ? "integer" : "number" };
      copy(s, out, ["minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum"]);
      if (typeof out["exclusiveMinimum"] === "number") {
        // OpenAPI v3.0 (what Kubernetes speaks) spells it as a boolean beside minimum.
        out["minimum"] = out["exclusiveMinimum"];
        out["exclusiveMinimum"] = true;
      }
      return out;
    }
    case "Boolean":
      return { ...common, type: "boolean" };
    case "Literal":
      return { ...common, type: typeof s["const"], enum: [s["const"]] };
    case "Union": {
      const variants = s["anyOf"] as (TSchema & Record<string, unknown>)[];
      if (variants.every((v) => v[Kind] === "Literal")) {
        return { ...common, type: typeof variants[0]?.["const"], enum: variants.map((v) => v["const"]) };
      }
      return { ...common, "x-kubernetes-preserve-unknown-fields": true };
    }
    case "Unknown":
    case "Any":
      return { ...common, "x-kubernetes-preserve-unknown-fields": true };
    default:
      throw new Error(`crd-schema: unsupported schema kind ${String(s[Kind])}`);
  }
}

function oneOfRequired(group: readonly string[]): OpenApiSchema[] {
  return [{ not: { anyOf: group.map((k) => ({ required: [k] })) } }, ...group.map((k) => ({ required: [k] }))];
}

function copy(from: Record<string, unknown>, to: OpenApiSchema, keys: readonly string[]): void {
  for (const key of keys) if (from[key] !== undefined) to[key] = from[key];
}
