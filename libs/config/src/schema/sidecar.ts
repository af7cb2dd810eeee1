// Schema of `networking.istio.io` Sidecar: narrows what a workload's proxy accepts (ingress
// listeners) and what it can reach (egress hosts), and how it treats unknown destinations.
// Field names follow istio/api networking/v1alpha3/sidecar.proto as users write them in YAML.
import { Type } from "@sinclair/typebox";
import { closed, stringEnum, PortNumber, type Decoded } from "./common.ts";
import { ConnectionPoolSettings } from "./destination-rule.ts";
import { ServerTLSSettings } from "./gateway.ts";
import { NetworkingWorkloadSelector } from "./service-entry.ts";
import { Destination } from "./virtual-service.ts";

/** Istio `SidecarPort`. */
export const SidecarPort = closed(
  {
    number: Type.Optional(
      PortNumber({ description: "Port number of the listener; 0 with a unix:// bind for a Unix domain socket listener." }),
    ),
    protocol: Type.Optional(
      Type.String({ description: "Protocol on the port: HTTP, HTTPS, HTTP2, GRPC, GRPC-WEB, TCP, TLS, MONGO, REDIS, MYSQL, UDP." }),
    ),
    name: Type.Optional(Type.String({ description: "Label assigned to the port, a DNS label." })),
    targetPort: Type.Optional(
      PortNumber({ description: "Deprecated and rejected by Istio for sidecars: has no effect. Kept so old resources report a clear error." }),
    ),
  },
  { description: "The port of a sidecar listener: number, protocol and name." },
);
export type SidecarPort = Decoded<typeof SidecarPort>;

/** Istio `CaptureMode`. */
export const CaptureMode = stringEnum(["DEFAULT", "IPTABLES", "NONE"], {
  description:
    "How traffic reaches a listener bound to an IP: DEFAULT (the environment's choice), IPTABLES (redirected by iptables), " +
    "NONE (not captured; the application talks to the listener directly). Unix socket listeners allow only DEFAULT and NONE.",
});
export type CaptureMode = Decoded<typeof CaptureMode>;

/** Istio `IstioIngressListener`. */
export const IstioIngressListener = closed(
  {
    port: SidecarPort,
    bind: Type.Optional(
      Type.String({ description: "IP address (IPv4 or IPv6) the listener binds to; chosen by Istio when unset." }),
    ),
    captureMode: Type.Optional(CaptureMode),
    defaultEndpoint: Type.Optional(
      Type.String({
        description:
          "Where the application listens: 127.0.0.1:PORT, 0.0.0.0:PORT, [::1]:PORT, [::]:PORT or unix:///path/to/socket. " +
          "Traffic arriving on the listener is forwarded there.",
      }),
    ),
    tls: Type.Optional(ServerTLSSettings),
    connectionPool: Type.Optional(ConnectionPoolSettings),
  },
  { description: "An inbound listener of the sidecar: the port it accepts traffic on and where it forwards it." },
);
export type IstioIngressListener = Decoded<typeof IstioIngressListener>;

/** Istio `IstioEgressListener`. */
export const IstioEgressListener = closed(
  {
    port: Type.Optional(SidecarPort),
    bind: Type.Optional(
      Type.String({
        description:
          "IP address or unix:///path (unix://@name for an abstract socket) the listener binds to; needs a port. 127.0.0.1 when captureMode is NONE.",
      }),
    ),
    captureMode: Type.Optional(CaptureMode),
    hosts: Type.Array(Type.String({ minLength: 1 }), {
      minItems: 1,
      description:
        "Services the listener exposes, as namespace/dnsName: the namespace is a name, `.` (the Sidecar's own), `*` (any) or `~` (none); " +
        "the dnsName is an FQDN, `*.suffix` or `*` (all services of the namespace), e.g. `istio-system/*`, `*/api.example.com`.",
    }),
  },
  {
    description:
      "An outbound listener of the sidecar and the services reachable through it. Without a port it is the catch-all listener for the imported hosts.",
  },
);
export type IstioEgressListener = Decoded<typeof IstioEgressListener>;

/** `OutboundTrafficPolicy.Mode`. */
export const OutboundTrafficPolicyMode = stringEnum(["REGISTRY_ONLY", "ALLOW_ANY"], {
  description:
    "What happens to traffic for destinations outside the registry: REGISTRY_ONLY (blocked; only known services and ServiceEntries) " +
    "or ALLOW_ANY (passed through).",
});
export type OutboundTrafficPolicyMode = Decoded<typeof OutboundTrafficPolicyMode>;

/** Istio `OutboundTrafficPolicy`. */
export const OutboundTrafficPolicy = closed(
  {
    mode: Type.Optional(OutboundTrafficPolicyMode),
    egressProxy: Type.Optional(
      closed(Destination.properties, {
        description:
          "Send traffic for unknown destinations to this service (e.g. an egress proxy) instead of passing it through; ALLOW_ANY only, port required.",
      }),
    ),
  },
  { description: "How the sidecar treats outbound traffic to destinations that are not in the service registry." },
);
export type OutboundTrafficPolicy = Decoded<typeof OutboundTrafficPolicy>;

/** Istio `Sidecar` spec. */
export const SidecarSpec = closed(
  {
    workloadSelector: Type.Optional(NetworkingWorkloadSelector),
    ingress: Type.Optional(
      Type.Array(IstioIngressListener, {
        description: "Inbound listeners; when omitted Istio derives them from the workload's ports and services.",
      }),
    ),
    egress: Type.Optional(
      Type.Array(IstioEgressListener, {
        description: "Outbound listeners and the services they import; when omitted every service visible to the namespace is reachable.",
      }),
    ),
    inboundConnectionPool: Type.Optional(
      closed(ConnectionPoolSettings.properties, {
        description: "Limits on connections the sidecar accepts for the workload, for every ingress port without its own connectionPool.",
      }),
    ),
    outboundTrafficPolicy: Type.Optional(OutboundTrafficPolicy),
  },
  {
    description:
      "Fine-tunes the sidecar proxy of the selected workloads (all workloads of the namespace without a selector): inbound ports, reachable services, outbound policy.",
  },
);
export type SidecarSpec = Decoded<typeof SidecarSpec>;
