// Schema of `networking.istio.io` WorkloadEntry: one non-Kubernetes workload (a VM, a bare-metal
// host) described like a pod, also the shape of ServiceEntry endpoints. Field names follow
// istio/api networking/v1alpha3/workload_entry.proto as users write them in YAML.
import { Type } from "@sinclair/typebox";
import { closed, mapOf, PortNumber, type Decoded } from "./common.ts";

/** Istio `WorkloadEntry` spec; ServiceEntry `endpoints` items have the same shape. */
export const WorkloadEntrySpec = closed(
  {
    address: Type.Optional(
      Type.String({
        maxLength: 256,
        description:
          "IP address of the workload, without port; a fully-qualified domain name only when the ServiceEntry uses DNS resolution; " +
          "or unix:///absolute/path (or unix://@abstract) for a Unix domain socket. May be empty only when network is set.",
      }),
    ),
    ports: Type.Optional(
      mapOf(PortNumber({ minimum: 1 }), {
        maxProperties: 128,
        description:
          "Service port name → port on this workload. Traffic to the service port with that name goes to this port; " +
          "takes precedence over the service's targetPort. Not for unix:// addresses.",
      }),
    ),
    labels: Type.Optional(
      mapOf(Type.String(), { maxProperties: 256, description: "Labels of the workload, matched by workload selectors and subsets." }),
    ),
    network: Type.Optional(
      Type.String({
        maxLength: 2048,
        description:
          "The L3 network the workload is in; endpoints in other networks are reached through a gateway. Required when address is empty.",
      }),
    ),
    locality: Type.Optional(
      Type.String({
        maxLength: 2048,
        description: "Failure domain of the workload as region/zone/sub-zone (e.g. us-east-1/us-east-1a/rack-11); used for locality-aware routing.",
      }),
    ),
    weight: Type.Optional(
      Type.Integer({
        minimum: 0,
        maximum: 4_294_967_295,
        description: "Load balancing weight of the endpoint; higher weights get proportionally more traffic.",
      }),
    ),
    serviceAccount: Type.Optional(
      Type.String({
        maxLength: 253,
        description: "Service account of the workload's sidecar, in the namespace of this configuration; its identity is verified by peers.",
      }),
    ),
  },
  { description: "A workload outside Kubernetes (VM, bare metal), or one endpoint of a ServiceEntry." },
);
export type WorkloadEntrySpec = Decoded<typeof WorkloadEntrySpec>;
