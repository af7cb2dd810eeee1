// Reads Istio resources as users write them (multi-document YAML or JSON, `kind: List` too),
// validates each one whole — schema, then the kind's semantic rules — and returns the decoded
// domain model of the ones that pass, with every problem located in the user's text.
// A resource with any error is rejected whole; the others still load.
import { checkValue, formatPath, type ValueProblem } from "./check-value.ts";
import { closestName } from "./closest-name.ts";
import { describeResource, makeIssue, type ConfigIssue, type ResourceRef } from "./config-issue.ts";
import type { FieldIssue, FieldPath, RuleContext } from "./field-issue.ts";
import { parseDocuments, type ParsedDocument, type TextPosition } from "./parse-documents.ts";
import { findResourceKind, resourceKinds, yamlKindOf, type AnyResourceKind, type KindName, type SpecByKind } from "./resource-kinds.ts";

export interface SourceText {
  /** Shown in issues; a file path or a label such as "<stdin>". */
  readonly path: string;
  readonly text: string;
}

export interface ResourceMetadata {
  readonly name: string;
  readonly namespace?: string;
  readonly labels?: Readonly<Record<string, string>>;
  readonly annotations?: Readonly<Record<string, string>>;
}

export interface SourceRef {
  readonly file: string;
  readonly line: number;
}

/** A validated resource: the spec is decoded (durations in milliseconds, documented defaults applied). */
export type MeshResource<K extends KindName = KindName> = {
  [P in K]: {
    readonly apiVersion: string;
    readonly kind: P;
    readonly metadata: ResourceMetadata;
    readonly spec: SpecByKind[P];
    readonly source?: SourceRef;
  };
}[K];

export interface LoadResult {
  /** Resources that passed validation, in input order. */
  readonly resources: MeshResource[];
  /** Every problem found; a resource with an error-severity issue is absent from `resources`. */
  readonly issues: ConfigIssue[];
}

/** Parses and validates every resource in `sources`. Pure: the caller reads the files. */
export function loadResources(sources: readonly SourceText[]): LoadResult {
  const resources: MeshResource[] = [];
  const issues: ConfigIssue[] = [];
  const seen = new Map<string, SourceRef>();
  for (const source of sources) {
    const parsed = parseDocuments(source.text);
    for (const problem of parsed.syntaxProblems) {
      issues.push(
        makeIssue("YamlSyntax", {
          message: problem.message,
          hint: "fix the YAML syntax; the whole document was skipped",
          file: source.path,
          ...problem.position,
        }),
      );
    }
    for (const document of parsed.documents) {
      for (const entry of listEntries(document)) {
        const outcome = loadOne(entry.value, entry.prefix, document, source.path);
        issues.push(...outcome.issues);
        if (!outcome.resource) continue;
        const key = `${outcome.resource.kind}/${outcome.resource.metadata.namespace ?? ""}/${outcome.resource.metadata.name}`;
        const earlier = seen.get(key);
        if (earlier) {
          issues.push(
            makeIssue("DuplicateResource", {
              message: `${describeResource(refOf(outcome.resource))} is defined again; the first definition is at ${earlier.file}:${earlier.line}`,
              hint: "give each resource a unique name, or remove the copy",
              file: source.path,
              ...document.locate([...entry.prefix, "metadata", "name"]),
              resource: refOf(outcome.resource),
              field: "metadata.name",
            }),
          );
          continue;
        }
        seen.set(key, outcome.resource.source as SourceRef);
        resources.push(outcome.resource);
      }
    }
  }
  return { resources, issues };
}

// Where each loaded resource came from, to point analysis findings at the right line. Keyed by the
// (immutable) resource object, so it costs nothing once the resource is dropped.
const locators = new WeakMap<MeshResource, { file: string; at: (path: FieldPath, atKey?: boolean) => TextPosition }>();

/** File, line and column where `path` of a resource returned by loadResources() was written. */
export function locateField(resource: MeshResource, path: FieldPath): { file: string; line: number; column: number } | undefined {
  const locator = locators.get(resource);
  if (!locator) return undefined;
  return { file: locator.file, ...locator.at(path) };
}

/** A document, or each item of a `kind: List` document (as `kubectl get -o yaml` writes). */
function listEntries(document: ParsedDocument): { value: unknown; prefix: FieldPath }[] {
  const value = document.value as { kind?: unknown; items?: unknown };
  if (typeof value === "object" && value !== null && value.kind === "List" && Array.isArray(value.items)) {
    return value.items.map((item, i) => ({ value: item, prefix: ["items", i] }));
  }
  return [{ value: document.value, prefix: [] }];
}

const topLevelFields = ["apiVersion", "kind", "metadata", "spec", "status"];
// Kubernetes object names (DNS-1123 subdomain) and namespaces (DNS-1123 label).
const dns1123Subdomain = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const dns1123Label = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;

interface Outcome {
  readonly resource?: MeshResource;
  readonly issues: ConfigIssue[];
}

function loadOne(value: unknown, prefix: FieldPath, document: ParsedDocument, file: string): Outcome {
  const at = (path: FieldPath, atKey = false): TextPosition => document.locate([...prefix, ...path], atKey);
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    return {
      issues: [
        makeIssue("NotAResource", {
          message: `expected a resource (a mapping with apiVersion, kind, metadata, spec), got ${Array.isArray(value) ? "a list" : JSON.stringify(value)}`,
          hint: "each YAML document must be one resource; separate resources with ---",
          file,
          ...at([]),
        }),
      ],
    };
  }
  const object = value as Record<string, unknown>;
  const header = readHeader(object);
  if (!header.ok) {
    return { issues: [makeIssue(header.name, { message: header.message, hint: header.hint, file, ...at([header.field]), field: header.field })] };
  }
  const { kindInfo, apiVersion } = header;
  const ref: ResourceRef = {
    kind: kindInfo.kind,
    ...(typeof (object["metadata"] as { namespace?: unknown })?.namespace === "string" ? { namespace: (object["metadata"] as { namespace: string }).namespace } : {}),
    ...(typeof (object["metadata"] as { name?: unknown })?.name === "string" ? { name: (object["metadata"] as { name: string }).name } : {}),
  };
  const issues: ConfigIssue[] = [];
  const fromProblem = (p: ValueProblem | LocatedFieldIssue): ConfigIssue =>
    makeIssue(p.name ?? "InvalidValue", {
      message: p.message,
      hint: p.hint,
      severity: "severity" in p ? p.severity : undefined,
      file,
      ...at(p.anchor ?? p.path, p.atKey ?? false),
      resource: ref,
      field: formatPath(p.path),
    });

  for (const key of Object.keys(object)) {
    if (!topLevelFields.includes(key)) {
      const near = closestName(key, topLevelFields);
      issues.push(fromProblem({ name: "UnknownField", path: [key], atKey: true, message: `unknown field "${key}"`, hint: near ? `did you mean "${near}"?` : "a resource has apiVersion, kind, metadata and spec" }));
    }
  }
  const metadata = readMetadata(object["metadata"]);
  issues.push(...metadata.problems.map(fromProblem));

  const specResult = checkValue(kindInfo.spec, object["spec"] ?? {}, ["spec"]);
  issues.push(...specResult.problems.map(fromProblem));
  if (issues.some((i) => i.severity === "error") || !metadata.value) return { issues };

  const spec = specResult.decoded as SpecByKind[KindName];
  const ruleIssues = (kindInfo.check as (s: unknown, c: RuleContext) => FieldIssue[])(spec, {
    namespace: metadata.value.namespace,
    name: metadata.value.name,
    apiVersion,
  });
  issues.push(...ruleIssues.map(fromProblem));
  if (issues.some((i) => i.severity === "error")) return { issues };

  const resource = {
    apiVersion,
    kind: kindInfo.kind,
    metadata: metadata.value,
    spec,
    // The document's own start needs no second parse; a `kind: List` item does (rare).
    source: { file, line: prefix.length === 0 ? document.position.line : at([]).line },
  } as MeshResource;
  locators.set(resource, { file, at });
  return { resource, issues };
}

type Header =
  | { ok: true; kindInfo: AnyResourceKind; apiVersion: string }
  | { ok: false; name: "UnknownKind" | "NotAResource"; message: string; hint: string; field: string };

function readHeader(object: Record<string, unknown>): Header {
  const { apiVersion, kind } = object;
  if (typeof apiVersion !== "string" || apiVersion === "") {
    return { ok: false, name: "NotAResource", message: "apiVersion is missing", hint: "add e.g. apiVersion: networking.istio.io/v1", field: "apiVersion" };
  }
  if (typeof kind !== "string" || kind === "") {
    return { ok: false, name: "NotAResource", message: "kind is missing", hint: "add e.g. kind: VirtualService", field: "kind" };
  }
  const slash = apiVersion.lastIndexOf("/");
  const group = slash < 0 ? "" : apiVersion.slice(0, slash);
  const version = apiVersion.slice(slash + 1);
  const kindInfo = findResourceKind(group, kind);
  if (!kindInfo) {
    // Two groups define a Gateway (Istio's and the Gateway API's): name every one that fits.
    const sameKind = resourceKinds.filter((k) => yamlKindOf(k) === kind);
    if (sameKind.length > 0) {
      return { ok: false, name: "UnknownKind", message: `${kind} belongs to ${sameKind.map((k) => k.group).join(" or ")}, not "${group}"`, hint: `use apiVersion: ${sameKind.map((k) => `${k.group}/${k.versions[0]}`).join(" or ")}`, field: "apiVersion" };
    }
    const near = closestName(kind, resourceKinds.map(yamlKindOf));
    return {
      ok: false,
      name: "UnknownKind",
      message: `unknown kind "${kind}" in ${apiVersion}`,
      hint: near ? `did you mean ${near}?` : `Meshwork reads ${[...new Set(resourceKinds.map(yamlKindOf))].join(", ")}`,
      field: "kind",
    };
  }
  if (!kindInfo.versions.includes(version)) {
    return {
      ok: false,
      name: "UnknownKind",
      message: `${kind} has no version "${version}"`,
      hint: `use one of ${kindInfo.versions.map((v) => `${kindInfo.group}/${v}`).join(", ")}`,
      field: "apiVersion",
    };
  }
  return { ok: true, kindInfo, apiVersion };
}

/** A FieldIssue with the pointing hints of ValueProblem. */
type LocatedFieldIssue = FieldIssue & { readonly atKey?: boolean; readonly anchor?: FieldPath };

interface MetadataResult {
  readonly value?: ResourceMetadata;
  readonly problems: LocatedFieldIssue[];
}

function readMetadata(raw: unknown): MetadataResult {
  if (typeof raw !== "object" || raw === null || Array.isArray(raw)) {
    return { problems: [{ name: "MissingField", path: ["metadata"], anchor: [], message: "metadata is missing", hint: "add metadata with at least a name" }] };
  }
  const meta = raw as Record<string, unknown>;
  const problems: LocatedFieldIssue[] = [];
  const { name, namespace, labels, annotations } = meta;
  if (typeof name !== "string" || name === "") {
    problems.push({ name: "MissingField", path: ["metadata", "name"], anchor: ["metadata"], atKey: true, message: "metadata.name is missing", hint: "every resource needs a name" });
  } else if (name.length > 253 || !dns1123Subdomain.test(name)) {
    problems.push({ path: ["metadata", "name"], message: `name "${name}" is not a valid Kubernetes name`, hint: "use lower-case letters, digits, '-' and '.', starting and ending with a letter or digit" });
  }
  if (namespace !== undefined && (typeof namespace !== "string" || namespace.length > 63 || !dns1123Label.test(namespace))) {
    problems.push({ path: ["metadata", "namespace"], message: `namespace ${JSON.stringify(namespace)} is not a valid namespace name`, hint: "use lower-case letters, digits and '-', at most 63 characters" });
  }
  for (const [field, map] of [["labels", labels], ["annotations", annotations]] as const) {
    if (map === undefined || map === null) continue;
    if (typeof map !== "object" || Array.isArray(map)) {
      problems.push({ path: ["metadata", field], message: `metadata.${field} must be a mapping of strings` });
      continue;
    }
    for (const [key, v] of Object.entries(map)) {
      if (typeof v !== "string") {
        problems.push({ path: ["metadata", field, key], message: `${field} value for "${key}" must be a string, got ${JSON.stringify(v)}`, hint: `quote it: "${String(v)}"` });
      }
    }
  }
  if (problems.length > 0) return { problems };
  return {
    problems,
    value: {
      name: name as string,
      ...(typeof namespace === "string" ? { namespace } : {}),
      ...(labels ? { labels: labels as Record<string, string> } : {}),
      ...(annotations ? { annotations: annotations as Record<string, string> } : {}),
    },
  };
}

function refOf(resource: MeshResource): ResourceRef {
  return {
    kind: resource.kind,
    name: resource.metadata.name,
    ...(resource.metadata.namespace !== undefined ? { namespace: resource.metadata.namespace } : {}),
  };
}
