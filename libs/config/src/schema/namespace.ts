// Schema of the Kubernetes `Namespace` (core v1) as far as Meshwork reads it: its metadata (the
// name and labels, which Gateway listeners' allowedRoutes namespace selectors match). The spec's
// one field is accepted so `kubectl get namespace -o yaml` output loads as it is.
import { Type } from "@sinclair/typebox";
import { closed, type Decoded } from "./common.ts";

/** Kubernetes `NamespaceSpec`. */
export const NamespaceSpec = closed(
  {
    finalizers: Type.Optional(Type.Array(Type.String(), { description: "Finalizers of the namespace (ignored)." })),
  },
  { description: "A Kubernetes namespace; Meshwork reads its name and labels." },
);
export type NamespaceSpec = Decoded<typeof NamespaceSpec>;
