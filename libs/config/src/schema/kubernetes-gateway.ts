// Schema of the Kubernetes Gateway API `Gateway` (gateway.networking.k8s.io v1 / v1beta1): the
// listeners of a gateway deployment. Not Istio's networking.istio.io Gateway (gateway.ts): the two
// kinds share a name, so Meshwork calls this one `KubernetesGateway` inside, as Istio does.
import { Type } from "@sinclair/typebox";
import { closed, mapOf, stringEnum, PortNumber, type Decoded } from "./common.ts";

/** `SecretObjectReference`: where a listener's certificate and key are. */
export const SecretObjectReference = closed(
  {
    group: Type.Optional(Type.String({ description: "API group; \"\" (core) when unset." })),
    kind: Type.Optional(Type.String({ default: "Secret", description: "Kind; Secret (the default) is supported." })),
    name: Type.String({ minLength: 1, maxLength: 253, description: "Name of the Secret (kubernetes.io/tls) holding tls.crt and tls.key." }),
    namespace: Type.Optional(Type.String({ description: "Namespace of the Secret; the Gateway's when unset. Another namespace needs a ReferenceGrant there." })),
  },
  { description: "A Secret holding a certificate and key." },
);
export type SecretObjectReference = Decoded<typeof SecretObjectReference>;

const LabelSelector = closed(
  {
    matchLabels: Type.Optional(mapOf(Type.String(), { description: "Labels the namespace must have." })),
    matchExpressions: Type.Optional(
      Type.Array(
        closed(
          {
            key: Type.String({ description: "Label key." }),
            operator: stringEnum(["In", "NotIn", "Exists", "DoesNotExist"], { description: "In, NotIn, Exists or DoesNotExist." }),
            values: Type.Optional(Type.Array(Type.String(), { description: "Values for In and NotIn." })),
          },
          { description: "A label requirement." },
        ),
        { description: "Label requirements, all of which must hold." },
      ),
    ),
  },
  { description: "A Kubernetes label selector." },
);

/** `Listener`: one port (and host name) the gateway accepts connections on. */
export const Listener = closed(
  {
    name: Type.String({ minLength: 1, maxLength: 253, description: "Name of the listener, unique in the Gateway; routes attach to it by sectionName." }),
    hostname: Type.Optional(Type.String({ minLength: 1, maxLength: 253, description: "Host name the listener accepts (`*.` prefix allowed); every host when unset." })),
    port: PortNumber({ minimum: 1, description: "The port the gateway listens on." }),
    protocol: Type.String({ minLength: 1, description: "HTTP, HTTPS, TLS or TCP." }),
    tls: Type.Optional(
      closed(
        {
          mode: Type.Optional(stringEnum(["Terminate", "Passthrough"], { default: "Terminate", description: "Terminate (the default) decrypts with certificateRefs; Passthrough routes on SNI without decrypting (TLS protocol)." })),
          certificateRefs: Type.Optional(Type.Array(SecretObjectReference, { maxItems: 64, description: "Certificates presented with mode Terminate." })),
          options: Type.Optional(mapOf(Type.String(), { description: "Implementation-specific TLS options (ignored)." })),
        },
        { description: "TLS settings of an HTTPS or TLS listener." },
      ),
    ),
    allowedRoutes: Type.Optional(
      closed(
        {
          namespaces: Type.Optional(
            closed(
              {
                from: Type.Optional(stringEnum(["All", "Same", "Selector"], { default: "Same", description: "Routes from All namespaces, the Gateway's (Same, the default) or those a Selector picks." })),
                selector: Type.Optional(LabelSelector),
              },
              { description: "Namespaces whose routes may attach." },
            ),
          ),
          kinds: Type.Optional(
            Type.Array(
              closed(
                { group: Type.Optional(Type.String({ description: "API group; gateway.networking.k8s.io when unset." })), kind: Type.String({ description: "Route kind, e.g. HTTPRoute." }) },
                { description: "A route kind." },
              ),
              { maxItems: 8, description: "Route kinds that may attach; those of the protocol when unset." },
            ),
          ),
        },
        { description: "Which routes may attach to the listener." },
      ),
    ),
  },
  { description: "A port (and host name) of the gateway, its protocol and TLS settings, and the routes it admits." },
);
export type Listener = Decoded<typeof Listener>;

/** Gateway API `Gateway` spec. */
export const KubernetesGatewaySpec = closed(
  {
    gatewayClassName: Type.String({ minLength: 1, description: "The GatewayClass; `istio` or `meshwork` for Meshwork's gateway." }),
    listeners: Type.Array(Listener, { minItems: 1, maxItems: 64, description: "The listeners of the gateway." }),
    addresses: Type.Optional(
      Type.Array(
        closed(
          {
            type: Type.Optional(Type.String({ default: "IPAddress", description: "IPAddress (the default), Hostname or NamedAddress." })),
            value: Type.String({ minLength: 1, description: "The address." }),
          },
          { description: "An address of the gateway." },
        ),
        { maxItems: 16, description: "Addresses requested for the gateway. A Hostname naming the istio-ingressgateway Service selects the proxies labelled istio: ingressgateway." },
      ),
    ),
    infrastructure: Type.Optional(
      closed(
        {
          labels: Type.Optional(mapOf(Type.String(), { description: "Labels of the deployed gateway's resources." })),
          annotations: Type.Optional(mapOf(Type.String(), { description: "Annotations of the deployed gateway's resources." })),
          parametersRef: Type.Optional(closed({ group: Type.String(), kind: Type.String(), name: Type.String() }, { description: "Implementation-specific parameters (ignored)." })),
        },
        { description: "Settings of the gateway's deployment." },
      ),
    ),
  },
  { description: "A gateway (Kubernetes Gateway API): its class, listeners and addresses." },
);
export type KubernetesGatewaySpec = Decoded<typeof KubernetesGatewaySpec>;
