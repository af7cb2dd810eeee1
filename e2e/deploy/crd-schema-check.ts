// Checks a custom resource against the openAPIV3Schema of its rendered CRD the way the API server
// would (structural schema: unknown fields are errors here rather than silently pruned). Covers
// the keywords deploy/k8s/crds uses: type, properties, additionalProperties, items, required, enum,
// minimum/maximum, minLength/maxLength, maxItems, anyOf/oneOf/not and the x-kubernetes-* markers.
// apiVersion, kind and metadata at the root are the API server's to check (every CRD has them).

export interface OpenApiSchema {
  readonly type?: string;
  readonly properties?: Record<string, OpenApiSchema>;
  readonly additionalProperties?: OpenApiSchema | boolean;
  readonly items?: OpenApiSchema;
  readonly required?: readonly string[];
  readonly enum?: readonly unknown[];
  readonly minimum?: number;
  readonly maximum?: number;
  readonly minLength?: number;
  readonly maxLength?: number;
  readonly maxItems?: number;
  readonly anyOf?: readonly OpenApiSchema[];
  readonly oneOf?: readonly OpenApiSchema[];
  readonly not?: OpenApiSchema;
  readonly "x-kubernetes-preserve-unknown-fields"?: boolean;
  readonly "x-kubernetes-int-or-string"?: boolean;
}

/** Problems of `value` against `schema`, each prefixed with its field path (`spec.http[0].route`). */
export function checkAgainstCrdSchema(value: unknown, schema: OpenApiSchema, path = ""): string[] {
  const at = path === "" ? "(root)" : path;
  const problems: string[] = [];
  if (schema["x-kubernetes-int-or-string"]) {
    if (typeof value !== "string" && !Number.isInteger(value)) problems.push(`${at}: expected an integer or a string, got ${JSON.stringify(value)}`);
  } else if (schema.type !== undefined && !hasType(value, schema.type)) {
    return [`${at}: expected ${schema.type}, got ${JSON.stringify(value)}`];
  }
  if (schema.enum !== undefined && !schema.enum.includes(value)) problems.push(`${at}: ${JSON.stringify(value)} is not one of ${schema.enum.map((e) => JSON.stringify(e)).join(", ")}`);
  if (typeof value === "number") {
    if (schema.minimum !== undefined && value < schema.minimum) problems.push(`${at}: ${value} is below the minimum ${schema.minimum}`);
    if (schema.maximum !== undefined && value > schema.maximum) problems.push(`${at}: ${value} is above the maximum ${schema.maximum}`);
  }
  if (typeof value === "string") {
    if (schema.minLength !== undefined && value.length < schema.minLength) problems.push(`${at}: shorter than ${schema.minLength}`);
    if (schema.maxLength !== undefined && value.length > schema.maxLength) problems.push(`${at}: longer than ${schema.maxLength}`);
  }
  if (Array.isArray(value)) {
    if (schema.maxItems !== undefined && value.length > schema.maxItems) problems.push(`${at}: more than ${schema.maxItems} items`);
    if (schema.items) value.forEach((item, i) => problems.push(...checkAgainstCrdSchema(item, schema.items as OpenApiSchema, `${path}[${i}]`)));
  } else if (isObject(value)) {
    for (const key of schema.required ?? []) if (!(key in value)) problems.push(`${at}: missing required field "${key}"`);
    for (const [key, field] of Object.entries(value)) {
      if (path === "" && (key === "apiVersion" || key === "kind" || key === "metadata")) continue;
      const fieldPath = path === "" ? key : `${path}.${key}`;
      const known = schema.properties?.[key];
      if (known) problems.push(...checkAgainstCrdSchema(field, known, fieldPath));
      else if (typeof schema.additionalProperties === "object") problems.push(...checkAgainstCrdSchema(field, schema.additionalProperties, fieldPath));
      else if (schema.additionalProperties !== true && !schema["x-kubernetes-preserve-unknown-fields"]) problems.push(`${fieldPath}: unknown field (the CRD schema has no "${key}")`);
    }
  }
  if (schema.anyOf && !schema.anyOf.some((branch) => checkBranch(value, branch))) problems.push(`${at}: matches none of the allowed forms (anyOf)`);
  if (schema.oneOf && schema.oneOf.filter((branch) => checkBranch(value, branch)).length !== 1) problems.push(`${at}: must match exactly one of the allowed forms (oneOf)`);
  if (schema.not && checkBranch(value, schema.not)) problems.push(`${at}: matches a form that is not allowed (not)`);
  return problems;
}

// anyOf/oneOf branches in structural schemas only constrain (required, not, ...): unknown fields
// are not a reason for a branch to fail, so only the branch's own keywords are checked.
function checkBranch(value: unknown, branch: OpenApiSchema): boolean {
  return checkAgainstCrdSchema(value, { ...branch, "x-kubernetes-preserve-unknown-fields": true }).length === 0;
}

function hasType(value: unknown, type: string): boolean {
  switch (type) {
    case "object":
      return isObject(value);
    case "array":
      return Array.isArray(value);
    case "string":
      return typeof value === "string";
    case "integer":
      return Number.isInteger(value);
    case "number":
      return typeof value === "number";
    case "boolean":
      return typeof value === "boolean";
    default:
      return true;
  }
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}
