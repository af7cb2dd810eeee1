// One workload's address, ports and labels, in the shape a WorkloadEntry spec and a ServiceEntry
// endpoint share: the address (IP, DNS name, Unix socket), the port map and the labels. Mirrors
// Istio's webhook (istio/istio pkg/config/validation: validateWorkloadEntry).
import type { FieldIssue, FieldPath } from "../field-issue.ts";
import type { WorkloadEntrySpec } from "../schema/workload-entry.ts";
import { fqdnProblem } from "./host-names.ts";
import { isIpAddress } from "./ip-addresses.ts";
import { labelIssues } from "./labels.ts";
import { portNameIssues } from "./ports.ts";
import { unixAddressPrefix, unixAddressProblem } from "./unix-addresses.ts";

export interface EndpointCheckOptions {
  /** Names of the owning ServiceEntry's ports; endpoint `ports` keys must be among them. Unset for a standalone WorkloadEntry. */
  readonly servicePortNames?: ReadonlySet<string>;
  /** Whether the address may be a DNS name (ServiceEntry DNS resolution, or a standalone WorkloadEntry). */
  readonly allowDnsName: boolean;
}

/**
 * Checks one workload entry or ServiceEntry endpoint found at `path`: the address (IP, DNS name when
 * allowed, or unix:// socket), the port map and the labels.
 */
export function checkEndpoint(entry: WorkloadEntrySpec, path: FieldPath, options: EndpointCheckOptions): FieldIssue[] {
  const issues: FieldIssue[] = [];
  const address = entry.address ?? "";
  if (address === "") {
    if (entry.network === undefined || entry.network === "") {
      issues.push({
        name: "MissingField",
        path: [...path, "address"],
        message: "address is required when network is not set",
        hint: "set address to the workload's IP (or a DNS name / unix:// socket), or set network for an endpoint reached through a gateway",
      });
    } else {
      issues.push({
        path: [...path, "address"],
        severity: "warning",
        message: `address is unset; the endpoint is reached only through the gateway of network "${entry.network}"`,
      });
    }
  } else if (address.startsWith(unixAddressPrefix)) {
    const problem = unixAddressProblem(address.slice(unixAddressPrefix.length));
    if (problem !== undefined) {
      issues.push({ path: [...path, "address"], message: `"${address}" ${problem}`, hint: "write unix:///absolute/path/to/socket or unix://@abstract-name" });
    }
    if (entry.ports !== undefined && Object.keys(entry.ports).length > 0) {
      issues.push({
        path: [...path, "ports"],
        message: `unix socket endpoint "${address}" must not have ports`,
        hint: "remove ports: a Unix domain socket has no port",
      });
    }
  } else if (!isIpAddress(address)) {
    if (!options.allowDnsName) {
      issues.push({
        path: [...path, "address"],
        message: `endpoint address "${address}" is not an IP address`,
        hint: "with resolution STATIC, endpoints need IP addresses or unix:// sockets; use resolution DNS for host names",
      });
    } else {
      const problem = fqdnProblem(address);
      if (problem !== undefined || address.includes("*")) {
        issues.push({
          path: [...path, "address"],
          message: `"${address}" is neither an IP address nor a valid DNS name${problem ? ` (it ${problem})` : " (wildcards are not allowed)"}`,
          hint: "write an IP address such as 10.0.0.5, a fully-qualified name such as vm1.example.com, or unix:///path",
        });
      }
    }
  }
  for (const [name, port] of Object.entries(entry.ports ?? {})) {
    issues.push(...portNameIssues(name, [...path, "ports", name], { example: "http-web" }));
    if (options.servicePortNames !== undefined && !options.servicePortNames.has(name)) {
      const known = [...options.servicePortNames];
      issues.push({
        path: [...path, "ports", name],
        message: `endpoint port "${name}" (${port}) is not a port of the service entry`,
        hint: known.length > 0 ? `key the map by a service port name: ${known.join(", ")}` : "declare the port under spec.ports first",
      });
    }
  }
  issues.push(...labelIssues(entry.labels, [...path, "labels"]));
  return issues;
}
