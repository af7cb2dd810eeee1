// Building blocks shared by every Istio resource schema: closed objects, maps, string enums,
// durations, string matches, selectors. One TypeBox schema yields the TS type, the runtime check
// (check-value.ts) and the CRD's openAPIV3Schema (crd-schema.ts).
import {
  Type,
  type SchemaOptions,
  type StaticDecode,
  type TLiteral,
  type TProperties,
  type TSchema,
  type TObject,
  type TRecord,
  type TString,
  type TTransform,
  type TUnion,
  type TNumber,
  type ObjectOptions,
} from "@sinclair/typebox";
import { parseDurationMs, formatDurationMs } from "../duration.ts";

/** A duration after parsing, in milliseconds. The field keeps its Istio name; the type carries the unit. */
export type Milliseconds = number & { readonly unit?: "ms" };

/**
 * Schema keyword (our extension) on objects: groups of fields of which at most one may be set,
 * like a protobuf `oneof`. Rendered into the CRD as Istio does (`oneOf` of `required`).
 */
export const ExclusiveKeyword = "x-meshwork-exclusive";

/**
 * Schema keyword (our extension): the fix to suggest when a value breaks this schema's type or
 * range (a number), item count (a list) or is missing (a required field), e.g.
 * "write a whole number of requests per second, at least 1". Not rendered into CRDs.
 */
export const HintKeyword = "x-meshwork-hint";

export interface ClosedObjectOptions extends ObjectOptions {
  /** Groups of field names of which at most one may be set (a protobuf `oneof`). */
  readonly exclusive?: readonly (readonly string[])[];
}

/**
 * An object whose unknown fields are errors, as Istio's validation webhook treats them.
 * Every message type of the Istio API is a closed object.
 */
export function closed<T extends TProperties>(properties: T, options: ClosedObjectOptions = {}): TObject<T> {
  const { exclusive, ...rest } = options;
  return Type.Object(properties, {
    ...rest,
    additionalProperties: false,
    ...(exclusive ? { [ExclusiveKeyword]: exclusive } : {}),
  });
}

/** A map with string keys (protobuf `map<string, V>`), e.g. labels. */
export function mapOf<V extends TSchema>(value: V, options: SchemaOptions = {}): TRecord<TString, V> {
  return Type.Record(Type.String(), value, options);
}

/** A closed set of strings (a protobuf enum as written in YAML). */
export function stringEnum<const T extends readonly string[]>(values: T, options: SchemaOptions = {}): TUnion<LiteralTuple<T>> {
  return Type.Union(
    values.map((v) => Type.Literal(v)),
    options,
  ) as unknown as TUnion<LiteralTuple<T>>;
}

/** `["A", "B"]` → `[TLiteral<"A">, TLiteral<"B">]`, so decoded types stay the union of the values. */
type LiteralTuple<T extends readonly string[]> = { -readonly [K in keyof T]: TLiteral<T[K] & string> } extends infer U extends TSchema[] ? U : never;

/**
 * A duration as Istio accepts it (`10s`, `1.5s`, `250ms`, `1h`, `1m30s`), decoded to milliseconds.
 * Encoding renders the shortest exact form, so decode(encode(x)) === x.
 */
export function Duration(options: SchemaOptions = {}): TTransform<TString, Milliseconds> {
  return Type.Transform(Type.String({ ...options, format: "duration" }))
    .Decode((text): Milliseconds => {
      const ms = parseDurationMs(text);
      // check-value.ts validates the format before decoding; reaching here with junk is a bug.
      if (ms === undefined) throw new Error(`invalid duration ${JSON.stringify(text)} reached decode`);
      return ms;
    })
    .Encode((ms) => formatDurationMs(ms));
}

/** Istio `Percent`: a double in [0, 100]. */
export const Percent = closed(
  { value: Type.Number({ minimum: 0, maximum: 100, description: "Percentage in the range [0.0, 100.0]." }) },
  { description: "Percent specifies a percentage in the range of [0.0, 100.0]." },
);

/**
 * Istio `StringMatch`: at most one of exact, prefix, regex. The regex is RE2 (Envoy's engine),
 * whose syntax JS RegExp rejects in places users rely on (`(?i)`, `(?P<name>)`, `[[:digit:]]`),
 * so the kinds' rules check it with re2Problem() rather than this schema compiling it.
 */
export const StringMatch = closed(
  {
    exact: Type.Optional(Type.String({ description: "exact string match" })),
    prefix: Type.Optional(Type.String({ description: "prefix-based match" })),
    regex: Type.Optional(Type.String({ description: "RE2 style regex-based match (https://github.com/google/re2/wiki/Syntax)" })),
  },
  {
    exclusive: [["exact", "prefix", "regex"]],
    description: "Describes how to match a given string in HTTP headers, path, query params.",
  },
);

/** A TCP/UDP port number. */
export function PortNumber(options: SchemaOptions = {}): TNumber {
  return Type.Integer({ minimum: 0, maximum: 65535, ...options }) as unknown as TNumber;
}

/** Istio `PortSelector`. */
export const PortSelector = closed(
  { number: Type.Optional(PortNumber({ description: "Valid port number" })) },
  { description: "Specifies the number of a port to be used for matching or selection for final routing." },
);

/** `istio.type.v1beta1.WorkloadSelector`: workloads chosen by their labels. */
export const WorkloadSelector = closed(
  {
    matchLabels: Type.Optional(
      mapOf(Type.String({ maxLength: 63 }), {
        description: "One or more labels that indicate a specific set of pods/VMs on which a policy should be applied.",
      }),
    ),
  },
  { description: "Selects the workloads a configuration applies to, by labels." },
);

/** `istio.type.v1beta1.PolicyTargetReference` (targetRef / targetRefs of security policies). */
export const PolicyTargetReference = closed(
  {
    group: Type.Optional(Type.String({ description: "group is the group of the target resource." })),
    kind: Type.String({ description: "kind is kind of the target resource." }),
    name: Type.String({ description: "name is the name of the target resource." }),
    namespace: Type.Optional(Type.String({ description: "namespace is the namespace of the referent." })),
  },
  { description: "PolicyTargetReference selects the target (e.g. a Gateway or Service) a policy attaches to." },
);

/** `targetRefs` of the security policies (RequestAuthentication, AuthorizationPolicy). */
export const PolicyTargetReferences = Type.Array(PolicyTargetReference, {
  maxItems: 16,
  description: "Resources (a Gateway API Gateway, Service, ServiceEntry) the policy attaches to. Excludes selector and targetRef.",
});

/** Free-form JSON value (protobuf `Struct` / `Value`), e.g. a JWT claim. */
export const AnyValue = Type.Unknown({ "x-kubernetes-preserve-unknown-fields": true });

/** Spec type after decoding (durations in ms, defaults applied). */
export type Decoded<T extends TSchema> = StaticDecode<T>;
