// Semantic checks of a WorkloadEntry: the address (IP, DNS name, Unix socket), the port map and the
// labels, which ServiceEntry endpoints share (endpoints.ts). Mirrors Istio's webhook
// (istio/istio pkg/config/validation: validateWorkloadEntry).
import type { SpecRule } from "../field-issue.ts";
import type { WorkloadEntrySpec } from "../schema/workload-entry.ts";
import { checkEndpoint } from "./endpoints.ts";

/** Semantic checks of a WorkloadEntry spec beyond its schema. */
export const checkWorkloadEntry: SpecRule<WorkloadEntrySpec> = (spec) =>
  checkEndpoint(spec, ["spec"], { allowDnsName: true });
