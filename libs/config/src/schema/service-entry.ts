// Schema of `networking.istio.io` ServiceEntry: adds a service (external API, VMs, a Unix socket)
// to the mesh's service registry. Field names follow istio/api networking/v1alpha3/service_entry.proto
// as users write them in YAML. `NetworkingWorkloadSelector` is shared with the Sidecar schema.
import { Type } from "@sinclair/typebox";
import { closed, mapOf, stringEnum, PortNumber, type Decoded } from "./common.ts";
import { WorkloadEntrySpec } from "./workload-entry.ts";

/**
 * `istio.networking.v1alpha3.WorkloadSelector` (selects by `labels`), used by ServiceEntry and Sidecar.
 * Not to be confused with `istio.type.v1beta1.WorkloadSelector` (`matchLabels`, common.ts) used by
 * DestinationRule and the security policies.
 */
export const NetworkingWorkloadSelector = closed(
  {
    labels: Type.Optional(
      mapOf(Type.String({ maxLength: 63 }), {
        maxProperties: 256,
        description: "Labels of the pods/VMs selected, in the namespace of this configuration; no wildcards.",
      }),
    ),
  },
  { description: "Selects workloads (pods, WorkloadEntries) in the configuration's namespace by their labels." },
);
export type NetworkingWorkloadSelector = Decoded<typeof NetworkingWorkloadSelector>;

/** Istio `ServicePort`. */
export const ServicePort = closed(
  {
    number: PortNumber({ minimum: 1, description: "The port number of the service." }),
    protocol: Type.Optional(
      Type.String({
        maxLength: 256,
        description:
          "Protocol on the port: HTTP, HTTPS, HTTP2, GRPC, GRPC-WEB, TCP, TLS, UDP, MONGO, REDIS, MYSQL (case-insensitive). " +
          "TLS routes on SNI without terminating. Unset means protocol sniffing.",
      }),
    ),
    name: Type.String({ minLength: 1, maxLength: 256, description: "Name of the port, a DNS label unique within the service entry." }),
    targetPort: Type.Optional(
      PortNumber({ minimum: 1, description: "Port on the endpoints that receives the traffic; `number` when unset." }),
    ),
  },
  { description: "A port of the service: number, protocol and name." },
);
export type ServicePort = Decoded<typeof ServicePort>;

/** `ServiceEntry.Location`. */
export const ServiceEntryLocation = stringEnum(["MESH_EXTERNAL", "MESH_INTERNAL"], {
  description:
    "Whether the service is outside the mesh (MESH_EXTERNAL, the default: e.g. web APIs) or part of it (MESH_INTERNAL: e.g. VMs with sidecars); " +
    "decides mTLS and policy behaviour.",
});
export type ServiceEntryLocation = Decoded<typeof ServiceEntryLocation>;

/** `ServiceEntry.Resolution`. */
export const ServiceEntryResolution = stringEnum(["NONE", "STATIC", "DNS", "DNS_ROUND_ROBIN", "DYNAMIC_DNS"], {
  description:
    "How the proxy finds the endpoints: NONE (forward to the address the caller connected to; the default), STATIC (the IPs in endpoints), " +
    "DNS (resolve the endpoints, or the hosts when there are none, and use all answers), DNS_ROUND_ROBIN (use the first answer per connection), " +
    "DYNAMIC_DNS (resolve the Host/SNI of each request; wildcard hosts, MESH_EXTERNAL only).",
});
export type ServiceEntryResolution = Decoded<typeof ServiceEntryResolution>;

/** Istio `ServiceEntry` spec. */
export const ServiceEntrySpec = closed(
  {
    hosts: Type.Array(Type.String({ minLength: 1 }), {
      minItems: 1,
      maxItems: 256,
      description:
        "DNS names of the service, optionally with a `*.` wildcard prefix. Matched against the HTTP Host/Authority header or the TLS SNI, " +
        "and by VirtualServices and DestinationRules. With DNS resolution and no endpoints, also the names resolved.",
    }),
    addresses: Type.Optional(
      Type.Array(Type.String({ maxLength: 64 }), {
        maxItems: 256,
        description: "Virtual IPs or CIDR blocks of the service; traffic to them is attributed to this service. No Unix sockets.",
      }),
    ),
    ports: Type.Optional(Type.Array(ServicePort, { maxItems: 256, description: "The ports of the service." })),
    location: Type.Optional(ServiceEntryLocation),
    resolution: Type.Optional(ServiceEntryResolution),
    endpoints: Type.Optional(
      Type.Array(WorkloadEntrySpec, { maxItems: 4096, description: "The endpoints of the service; not with workloadSelector." }),
    ),
    workloadSelector: Type.Optional(NetworkingWorkloadSelector),
    exportTo: Type.Optional(
      Type.Array(Type.String(), {
        description: "Namespaces that see this service: `.` (its own), `*` (all, the default), `~` (none) or namespace names.",
      }),
    ),
    subjectAltNames: Type.Optional(
      Type.Array(Type.String(), {
        description: "Subject alternative names the endpoints' server certificates must match (e.g. SPIFFE IDs).",
      }),
    ),
  },
  {
    description:
      "Adds a service to the mesh's registry: an external API, or workloads (VMs, pods) not in the platform's registry.",
    exclusive: [["endpoints", "workloadSelector"]],
  },
);
export type ServiceEntrySpec = Decoded<typeof ServiceEntrySpec>;
