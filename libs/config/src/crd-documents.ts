// Renders the CustomResourceDefinitions of every kind Meshwork accepts (deploy/k8s/crds), plus
// their kustomization. Pure: tools/generate-crds.ts writes the files, a test checks they are fresh.
import { stringify } from "yaml";
import { toOpenApiSchema } from "./crd-schema.ts";
import { resourceKinds, type AnyResourceKind } from "./resource-kinds.ts";

export interface RenderedFile {
  readonly fileName: string;
  readonly text: string;
}

const header = "# Generated from libs/config by `nx run config:generate-crds`. Do not edit.\n";

/** Builds the CustomResourceDefinition object for one kind. */
export function buildCrd(kind: AnyResourceKind): Record<string, unknown> {
  const category = kind.group.replaceAll(".", "-");
  // `kubectl get istio-io` lists the Istio kinds; Meshwork's own kinds answer to `kubectl get meshwork`.
  const family = kind.group.endsWith(".istio.io") ? "istio-io" : "meshwork";
  const specSchema = toOpenApiSchema(kind.spec);
  return {
    apiVersion: "apiextensions.k8s.io/v1",
    kind: "CustomResourceDefinition",
    metadata: {
      name: `${kind.plural}.${kind.group}`,
      labels: { "app.kubernetes.io/part-of": "meshwork" },
    },
    spec: {
      group: kind.group,
      names: {
        kind: kind.kind,
        listKind: `${kind.kind}List`,
        plural: kind.plural,
        singular: kind.kind.toLowerCase(),
        ...(kind.shortNames.length > 0 ? { shortNames: [...kind.shortNames] } : {}),
        categories: [family, category],
      },
      scope: "Namespaced",
      versions: kind.versions.map((version, i) => ({
        name: version,
        served: true,
        storage: i === 0,
        additionalPrinterColumns: [
          ...kind.printerColumns.map((c) => ({ name: c.name, jsonPath: c.jsonPath, type: c.type })),
          { name: "Age", jsonPath: ".metadata.creationTimestamp", type: "date" },
        ],
        schema: {
          openAPIV3Schema: {
            type: "object",
            properties: {
              spec: specSchema,
              status: { type: "object", "x-kubernetes-preserve-unknown-fields": true },
            },
          },
        },
        subresources: { status: {} },
      })),
    },
  };
}

/** Every CRD file plus a kustomization.yaml listing them, in a stable order. */
export function renderCrdFiles(): RenderedFile[] {
  // The Gateway API's CRDs come from its own release (docs/design/kubernetes.md), not from us; Namespace is Kubernetes' own.
  const files = resourceKinds.filter((kind) => !("upstreamCrds" in kind) && !("builtIn" in kind)).map((kind) => ({
    fileName: `${kind.group}_${kind.plural}.yaml`,
    text: header + stringify(buildCrd(kind), { lineWidth: 0, aliasDuplicateObjects: false }),
  }));
  const kustomization = {
    apiVersion: "kustomize.config.k8s.io/v1beta1",
    kind: "Kustomization",
    resources: files.map((f) => f.fileName),
  };
  return [...files, { fileName: "kustomization.yaml", text: header + stringify(kustomization) }];
}
