// Schema of the Kubernetes Gateway API `ReferenceGrant` (gateway.networking.k8s.io v1beta1): lets
// resources of other namespaces refer to resources of this one (a route to a Service, a Gateway to
// a Secret).
import { Type } from "@sinclair/typebox";
import { closed, type Decoded } from "./common.ts";

/** Gateway API `ReferenceGrant` spec. */
export const ReferenceGrantSpec = closed(
  {
    from: Type.Array(
      closed(
        {
          group: Type.String({ description: "API group of the referring kind: gateway.networking.k8s.io for routes and Gateways." }),
          kind: Type.String({ minLength: 1, description: "Referring kind: HTTPRoute, GRPCRoute, Gateway, ..." }),
          namespace: Type.String({ minLength: 1, description: "Namespace of the referring resources." }),
        },
        { description: "Resources allowed to refer to this namespace." },
      ),
      { minItems: 1, maxItems: 16, description: "Who may refer." },
    ),
    to: Type.Array(
      closed(
        {
          group: Type.String({ description: "API group of the referred kind: \"\" (core) for Service and Secret." }),
          kind: Type.String({ minLength: 1, description: "Referred kind: Service, Secret, ..." }),
          name: Type.Optional(Type.String({ description: "Only this resource; every resource of the kind when unset." })),
        },
        { description: "Resources of this namespace that may be referred to." },
      ),
      { minItems: 1, maxItems: 16, description: "What may be referred to." },
    ),
  },
  { description: "Permission for resources of other namespaces to refer to resources of this namespace." },
);
export type ReferenceGrantSpec = Decoded<typeof ReferenceGrantSpec>;
