// Property: a resource survives serialize → parse unchanged. Values generated from every kind's
// schema are decoded, encoded back to YAML text, parsed and decoded again; the two decoded
// models must be equal. A second check runs every accepted test resource through the full
// loader (schema + rules) the same way.
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import fc from "fast-check";
import { stringify } from "yaml";
import { describe, expect, it } from "vitest";
import { checkValue } from "../src/check-value.ts";
import { parseDocuments } from "../src/parse-documents.ts";
import { encodeValue, findResourceKind, loadResources, resourceKinds, type MeshResource } from "../src/index.ts";
import { arbitraryFromSchema } from "./arbitrary-from-schema.ts";

function toYaml(resource: MeshResource): string {
  // `v1` (no group) is Kubernetes' core group: Namespace.
  const group = resource.apiVersion.includes("/") ? (resource.apiVersion.split("/")[0] as string) : "";
  const kind = findResourceKind(group, resource.kind);
  if (!kind) throw new Error(`no kind for ${resource.apiVersion} ${resource.kind}`);
  return stringify({ apiVersion: resource.apiVersion, kind: resource.kind, metadata: resource.metadata, spec: encodeValue(kind.spec, resource.spec) });
}

describe("serialize → parse round trip", () => {
  it.each(resourceKinds.map((k) => [k.kind, k] as const))("%s specs generated from the schema come back unchanged", (_name, kind) => {
    fc.assert(
      fc.property(arbitraryFromSchema(kind.spec), (wire) => {
        const first = checkValue(kind.spec, wire, ["spec"]);
        expect(first.problems).toEqual([]);
        const text = stringify(encodeValue(kind.spec, first.decoded));
        const [document] = parseDocuments(text).documents;
        const second = checkValue(kind.spec, document?.value ?? {}, ["spec"]);
        expect(second.problems).toEqual([]);
        expect(second.decoded).toEqual(first.decoded);
      }),
      { numRuns: 60, seed: Number(process.env["FC_SEED"] ?? 20261122) },
    );
  });

  it("every accepted resource of testdata/cases and the examples reloads to the same model", () => {
    const root = join(import.meta.dirname, "../testdata");
    const files = [
      ...readdirSync(join(root, "cases")).filter((f) => f.endsWith(".yaml")).map((f) => join(root, "cases", f)),
      ...readdirSync(join(root, "examples")).filter((f) => f.endsWith(".yaml")).map((f) => join(root, "examples", f)),
    ];
    const { resources } = loadResources(files.map((path) => ({ path, text: readFileSync(path, "utf8") })));
    expect(resources.length).toBeGreaterThan(20);
    for (const resource of resources) {
      const again = loadResources([{ path: "round-trip.yaml", text: toYaml(resource) }]);
      expect(again.issues.filter((i) => i.severity === "error"), `${resource.kind} ${resource.metadata.name}`).toEqual([]);
      expect(again.resources[0]?.spec, `${resource.kind} ${resource.metadata.name}`).toEqual(resource.spec);
    }
  });
});
