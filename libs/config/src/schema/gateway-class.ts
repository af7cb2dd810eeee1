// Schema of the Kubernetes Gateway API `GatewayClass` (cluster-scoped): accepted so manifests that
// carry one load; Meshwork serves the classes `istio` and `meshwork` whether or not one is defined.
import { Type } from "@sinclair/typebox";
import { closed, type Decoded } from "./common.ts";

/** Gateway API `GatewayClass` spec. */
export const GatewayClassSpec = closed(
  {
    controllerName: Type.String({ minLength: 1, description: "The controller serving the class, e.g. istio.io/gateway-controller." }),
    description: Type.Optional(Type.String({ description: "What the class is for." })),
    parametersRef: Type.Optional(
      closed(
        { group: Type.String(), kind: Type.String(), name: Type.String(), namespace: Type.Optional(Type.String()) },
        { description: "Implementation-specific parameters (ignored)." },
      ),
    ),
  },
  { description: "A class of Gateways and the controller that serves it." },
);
export type GatewayClassSpec = Decoded<typeof GatewayClassSpec>;
