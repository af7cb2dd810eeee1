// Checks a parsed YAML/JSON value against a TypeBox schema and decodes it in the same pass
// (durations to milliseconds, documented defaults filled in). Problems carry the field path and a
// hint, so load-resources.ts can point at the line and say what to do.
import { Kind, TransformKind, type TSchema } from "@sinclair/typebox";
import type { FieldPath } from "./field-issue.ts";
import { ExclusiveKeyword, HintKeyword } from "./schema/common.ts";
import { parseDurationMs } from "./duration.ts";
import { closestName } from "./closest-name.ts";

export type ProblemName = "UnknownField" | "MissingField" | "WrongType" | "InvalidValue" | "ExclusiveFields" | "InvalidDuration";

export interface ValueProblem {
  readonly name: ProblemName;
  readonly path: FieldPath;
  readonly message: string;
  readonly hint?: string;
  /** The problem is about the key itself (unknown field), not its value: point at the key. */
  readonly atKey?: boolean;
  /** Where to point instead of `path`, e.g. the parent's key for a field that is absent. */
  readonly anchor?: FieldPath;
}

export interface CheckResult {
  readonly problems: ValueProblem[];
  /** The decoded value; meaningful only when `problems` is empty. */
  readonly decoded: unknown;
}

/** Checks `value` (found at `path`) against `schema`. Never throws on bad input. */
export function checkValue(schema: TSchema, value: unknown, path: FieldPath = []): CheckResult {
  const problems: ValueProblem[] = [];
  const decoded = walk(schema, value, [...path], problems);
  return { problems, decoded };
}

type AnySchema = TSchema & Record<string | symbol, unknown>;

/**
 * The path of the value being checked, pushed and popped as the walk descends (allocating a path
 * per field dominated the cost on large meshes); problems take a copy.
 */
type PathStack = (string | number)[];

function walk(schema: TSchema, value: unknown, path: PathStack, problems: ValueProblem[]): unknown {
  const s = schema as AnySchema;
  const before = problems.length;
  let result: unknown;
  switch (s[Kind]) {
    case "Object":
      result = walkObject(s, value, path, problems);
      break;
    case "Record":
      result = walkRecord(s, value, path, problems);
      break;
    case "Array":
      result = walkArray(s, value, path, problems);
      break;
    case "String":
      checkString(s, value, path, problems);
      result = value;
      break;
    case "Number":
    case "Integer":
      checkNumber(s, value, path, problems);
      result = value;
      break;
    case "Boolean":
      if (typeof value !== "boolean") problems.push(wrongType(path, "a boolean (true or false)", value));
      result = value;
      break;
    case "Literal":
      if (value !== s["const"]) problems.push(invalidChoice(path, value, [s["const"] as string]));
      result = value;
      break;
    case "Union":
      result = walkUnion(s, value, path, problems);
      break;
    case "Unknown":
    case "Any":
      result = value;
      break;
    default:
      throw new Error(`check-value: unsupported schema kind ${String(s[Kind])} at ${formatPath(path)}`);
  }
  const transform = s[TransformKind] as { Decode: (v: unknown) => unknown } | undefined;
  if (transform && problems.length === before) return transform.Decode(result);
  return result;
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function walkObject(s: AnySchema, value: unknown, path: PathStack, problems: ValueProblem[]): unknown {
  if (!isPlainObject(value)) {
    problems.push(wrongType(path, "a mapping of fields", value));
    return value;
  }
  const properties = (s["properties"] ?? {}) as Record<string, AnySchema>;
  const required = (s["required"] ?? []) as string[];
  const out: Record<string, unknown> = {};
  for (const key of Object.keys(value)) {
    const fieldSchema = properties[key];
    if (fieldSchema === undefined) {
      problems.push(unknownField(properties, value, key, [...path, key]));
      continue;
    }
    const fieldValue = value[key];
    if (fieldValue === null) {
      // YAML `field:` with nothing after it means unset; a required one is reported below, and
      // fields meant to be nested under it get a hint from unknownField().
      continue;
    }
    path.push(key);
    out[key] = walk(fieldSchema, fieldValue, path, problems);
    path.pop();
  }
  for (const key of required) {
    if (value[key] === undefined || value[key] === null) {
      const empty = value[key] === null;
      const nested = nestedHint(properties, value, key);
      problems.push({
        name: "MissingField",
        path: [...path, key],
        message: empty ? `field "${key}" is empty; it needs a value` : `required field "${key}" is missing`,
        ...(empty ? { atKey: true } : { anchor: [...path], atKey: true }),
        ...(nested.hint === undefined ? schemaHint(properties[key]) : nested),
      });
    }
  }
  for (const [key, fieldSchema] of fieldsWithDefaults(s, properties)) {
    if (out[key] === undefined && value[key] == null) {
      path.push(key);
      out[key] = walk(fieldSchema, fieldSchema["default"], path, problems);
      path.pop();
    }
  }
  for (const group of (s[ExclusiveKeyword] ?? []) as string[][]) {
    const set = group.filter((k) => value[k] !== undefined && value[k] !== null);
    if (set.length > 1) {
      problems.push({
        name: "ExclusiveFields",
        path: [...path, set[1] as string],
        message: `fields ${set.map((k) => `"${k}"`).join(" and ")} cannot be set together`,
        hint: `keep one of ${group.join(", ")}`,
        atKey: true,
      });
    }
  }
  return out;
}

// The fields of an object schema that have a documented default, computed once per schema
// (walking every property of every object on each check was a large share of the cost).
const defaultsBySchema = new WeakMap<AnySchema, readonly (readonly [string, AnySchema])[]>();

function fieldsWithDefaults(s: AnySchema, properties: Record<string, AnySchema>): readonly (readonly [string, AnySchema])[] {
  let fields = defaultsBySchema.get(s);
  if (!fields) {
    fields = Object.entries(properties).filter(([, fieldSchema]) => fieldSchema["default"] !== undefined);
    defaultsBySchema.set(s, fields);
  }
  return fields;
}

/** When `field` is empty but fields that belong under it sit beside it, say so. */
function nestedHint(properties: Record<string, AnySchema>, value: Record<string, unknown>, field: string): { hint?: string } {
  const inner = objectFieldsOf(properties[field]);
  if (!inner) return {};
  const strays = Object.keys(value).filter((k) => properties[k] === undefined && (inner === "map" || k in inner));
  if (strays.length === 0) return {};
  return { hint: `indent ${strays.map((k) => `"${k}"`).join(", ")} under "${field}"` };
}

function unknownField(
  properties: Record<string, AnySchema>,
  value: Record<string, unknown>,
  key: string,
  path: FieldPath,
): ValueProblem {
  const base = { name: "UnknownField" as const, path, message: `unknown field "${key}"`, atKey: true };
  // A field written at the wrong depth: a sibling (usually left empty) has it as a field.
  const owners = Object.keys(properties).filter((p) => {
    const inner = objectFieldsOf(properties[p]);
    return inner !== undefined && (inner === "map" ? value[p] === null : key in inner);
  });
  const present = owners.filter((p) => p in value);
  const owner = present[0] ?? owners[0];
  if (owner !== undefined) return { ...base, hint: `did you mean ${owner}.${key}? (indent it under "${owner}")` };
  const near = closestName(key, Object.keys(properties));
  if (near !== undefined) return { ...base, hint: `did you mean "${near}"?` };
  const names = Object.keys(properties);
  return { ...base, hint: names.length > 0 ? `valid fields here: ${names.join(", ")}` : "no fields are allowed here" };
}

/** The field names of an object schema (looking through arrays), "map" for a map, else undefined. */
function objectFieldsOf(schema: AnySchema | undefined): Record<string, unknown> | "map" | undefined {
  if (schema === undefined) return undefined;
  const kind = schema[Kind];
  if (kind === "Object") return (schema["properties"] ?? {}) as Record<string, unknown>;
  if (kind === "Record") return "map";
  if (kind === "Array") return objectFieldsOf(schema["items"] as AnySchema);
  return undefined;
}

function walkRecord(s: AnySchema, value: unknown, path: PathStack, problems: ValueProblem[]): unknown {
  if (!isPlainObject(value)) {
    problems.push(wrongType(path, "a mapping of keys to values", value));
    return value;
  }
  const patterns = s["patternProperties"] as Record<string, AnySchema>;
  const [pattern, valueSchema] = Object.entries(patterns)[0] as [string, AnySchema];
  const keyPattern = pattern === "^(.*)$" ? undefined : new RegExp(pattern);
  const out: Record<string, unknown> = {};
  for (const key of Object.keys(value)) {
    if (keyPattern && !keyPattern.test(key)) {
      const description = s["description"] as string | undefined;
      problems.push({
        name: "InvalidValue",
        path: [...path, key],
        message: `key "${key}" does not match ${pattern}`,
        atKey: true,
        ...(description ? { hint: description } : {}),
      });
      continue;
    }
    path.push(key);
    out[key] = walk(valueSchema, value[key], path, problems);
    path.pop();
  }
  return out;
}

function walkArray(s: AnySchema, value: unknown, path: PathStack, problems: ValueProblem[]): unknown {
  if (!Array.isArray(value)) {
    problems.push(wrongType(path, "a list", value, isPlainObject(value) ? "start each item with \"- \"" : undefined));
    return value;
  }
  const minItems = s["minItems"] as number | undefined;
  const maxItems = s["maxItems"] as number | undefined;
  if (minItems !== undefined && value.length < minItems) {
    problems.push({ name: "InvalidValue", path: [...path], message: `needs at least ${minItems} item${minItems === 1 ? "" : "s"}, has ${value.length}`, ...schemaHint(s) });
  }
  if (maxItems !== undefined && value.length > maxItems) {
    problems.push({ name: "InvalidValue", path: [...path], message: `allows at most ${maxItems} item${maxItems === 1 ? "" : "s"}, has ${value.length}`, ...schemaHint(s) });
  }
  const items = s["items"] as AnySchema;
  return value.map((item, i) => {
    path.push(i);
    const decoded = walk(items, item, path, problems);
    path.pop();
    return decoded;
  });
}

const regexCache = new Map<string, RegExp>();

function compiledPattern(pattern: string): RegExp {
  let re = regexCache.get(pattern);
  if (!re) {
    re = new RegExp(pattern, "u");
    regexCache.set(pattern, re);
  }
  return re;
}

function checkString(s: AnySchema, value: unknown, path: PathStack, problems: ValueProblem[]): void {
  if (typeof value !== "string") {
    const hint = typeof value !== "number" ? undefined : s["format"] === "duration" ? `add a unit: ${value}s or ${value}ms` : `quote it: "${value}"`;
    problems.push(wrongType(path, "a string", value, hint));
    return;
  }
  const format = s["format"];
  if (format === "duration" && parseDurationMs(value) === undefined) {
    problems.push({
      name: "InvalidDuration",
      path: [...path],
      message: `"${value}" is not a duration`,
      hint: "write a number with a unit, e.g. 250ms, 1.5s, 10s, 5m, 1h",
    });
  }
  const pattern = s["pattern"] as string | undefined;
  if (pattern !== undefined && !compiledPattern(pattern).test(value)) {
    problems.push({ name: "InvalidValue", path: [...path], message: `"${value}" does not match ${pattern}`, ...(s["description"] ? { hint: String(s["description"]) } : {}) });
  }
  const minLength = s["minLength"] as number | undefined;
  const maxLength = s["maxLength"] as number | undefined;
  if (minLength !== undefined && value.length < minLength) {
    problems.push({ name: "InvalidValue", path: [...path], message: minLength === 1 ? "must not be empty" : `must be at least ${minLength} characters` });
  }
  if (maxLength !== undefined && value.length > maxLength) {
    problems.push({ name: "InvalidValue", path: [...path], message: `is ${value.length} characters long; at most ${maxLength} allowed` });
  }
}

function checkNumber(s: AnySchema, value: unknown, path: PathStack, problems: ValueProblem[]): void {
  const isInteger = s[Kind] === "Integer";
  if (typeof value !== "number" || Number.isNaN(value)) {
    const hint = typeof value === "string" && value.trim() !== "" && !Number.isNaN(Number(value)) ? `remove the quotes: ${value}` : (s[HintKeyword] as string | undefined);
    problems.push(wrongType(path, isInteger ? "an integer" : "a number", value, hint));
    return;
  }
  if (isInteger && !Number.isInteger(value)) {
    problems.push({ name: "WrongType", path: [...path], message: `expected an integer, got ${value}`, ...schemaHint(s) });
    return;
  }
  const minimum = s["minimum"] as number | undefined;
  const maximum = s["maximum"] as number | undefined;
  const exclusiveMinimum = s["exclusiveMinimum"] as number | undefined;
  if (minimum !== undefined && value < minimum) {
    problems.push({ name: "InvalidValue", path: [...path], message: `${value} is below the minimum ${minimum}`, ...schemaHint(s) });
  }
  if (exclusiveMinimum !== undefined && value <= exclusiveMinimum) {
    problems.push({ name: "InvalidValue", path: [...path], message: `${value} must be greater than ${exclusiveMinimum}`, ...schemaHint(s) });
  }
  if (maximum !== undefined && value > maximum) {
    problems.push({ name: "InvalidValue", path: [...path], message: `${value} is above the maximum ${maximum}`, ...schemaHint(s) });
  }
}

function walkUnion(s: AnySchema, value: unknown, path: PathStack, problems: ValueProblem[]): unknown {
  const variants = s["anyOf"] as AnySchema[];
  if (variants.every((v) => v[Kind] === "Literal")) {
    const choices = variants.map((v) => v["const"] as string);
    if (!choices.includes(value as string)) problems.push(invalidChoice(path, value, choices));
    return value;
  }
  // A union of shapes: take the first that fits; otherwise report the closest one's problems.
  let best: ValueProblem[] | undefined;
  for (const variant of variants) {
    const attempt: ValueProblem[] = [];
    const decoded = walk(variant, value, path, attempt);
    if (attempt.length === 0) return decoded;
    if (best === undefined || attempt.length < best.length) best = attempt;
  }
  problems.push(...(best ?? []));
  return value;
}

function invalidChoice(path: PathStack, value: unknown, choices: readonly string[]): ValueProblem {
  const text = typeof value === "string" ? value : JSON.stringify(value);
  const exactIgnoringCase = choices.find((c) => c.toLowerCase() === String(text).toLowerCase());
  const near = exactIgnoringCase ?? closestName(String(text), choices);
  return {
    name: "InvalidValue",
    path: [...path],
    message: `"${text}" is not one of ${choices.join(", ")}`,
    ...(near !== undefined ? { hint: `did you mean ${near}?` } : {}),
  };
}

function describe(value: unknown): string {
  if (value === null) return "nothing (null)";
  if (Array.isArray(value)) return "a list";
  if (typeof value === "object") return "a mapping";
  if (typeof value === "string") return `the string ${JSON.stringify(value)}`;
  return `${typeof value} ${JSON.stringify(value)}`;
}

/** The schema's own fix for a bad value (HintKeyword), as a spreadable `{ hint }`. */
function schemaHint(s: AnySchema | undefined): { hint?: string } {
  const hint = s?.[HintKeyword];
  return typeof hint === "string" ? { hint } : {};
}

function wrongType(path: FieldPath, expected: string, value: unknown, hint?: string): ValueProblem {
  return { name: "WrongType", path: [...path], message: `expected ${expected}, got ${describe(value)}`, ...(hint ? { hint } : {}) };
}

const identifier = /^[A-Za-z_][A-Za-z0-9_-]*$/;

/** Renders a field path the way users read it: `spec.http[0].route[0].destination`. */
export function formatPath(path: FieldPath): string {
  let out = "";
  for (const segment of path) {
    if (typeof segment === "number") out += `[${segment}]`;
    else if (identifier.test(segment)) out += out === "" ? segment : `.${segment}`;
    else out += `[${JSON.stringify(segment)}]`;
  }
  return out;
}
