// Semantic checks of a ServiceEntry beyond its schema: host and address syntax, port names and
// protocols, and what each resolution mode needs (STATIC endpoints are IPs, DNS hosts are
// resolvable names, NONE has no endpoints). Follows Istio's webhook (istio/istio
// pkg/config/validation: ValidateServiceEntry), with warnings where Istio accepts a setting that
// has no effect.
import type { FieldIssue, FieldPath, SpecRule } from "../field-issue.ts";
import type { ServiceEntrySpec, ServicePort } from "../schema/service-entry.ts";
import { checkEndpoint } from "./endpoints.ts";
import { exportToIssues } from "./export-to.ts";
import { fqdnProblem, wildcardDomainProblem } from "./host-names.ts";
import { isIpSubnet } from "./ip-addresses.ts";
import { selectorIssues } from "./labels.ts";
import { portNameIssues } from "./ports.ts";
import { isHttpProtocol, isTlsProtocol, protocolIssue } from "./protocols.ts";
import { unixAddressPrefix } from "./unix-addresses.ts";

/** The proxy can tell hosts apart on this port (Host header or SNI); plain TCP (or sniffed) ports cannot. */
function distinguishesHosts(port: ServicePort): boolean {
  return isHttpProtocol(port.protocol) || isTlsProtocol(port.protocol);
}

function checkHosts(spec: ServiceEntrySpec): FieldIssue[] {
  const issues: FieldIssue[] = [];
  spec.hosts.forEach((host, i) => {
    const path: FieldPath = ["spec", "hosts", i];
    if (host === "*") {
      issues.push({
        name: "InvalidHost",
        path,
        message: `host "*" is not allowed in a ServiceEntry`,
        hint: "name the service, e.g. api.example.com, or a domain wildcard such as *.example.com",
      });
      return;
    }
    const problem = wildcardDomainProblem(host);
    if (problem !== undefined) {
      issues.push({ name: "InvalidHost", path, message: `host "${host}" is not a valid host name: it ${problem}`, hint: "write a DNS name such as api.example.com or *.example.com" });
    } else if (host.includes("*") && !host.startsWith("*.")) {
      issues.push({
        path,
        severity: "warning",
        message: `host "${host}" uses a partial wildcard, which matches names ending in "${host.slice(1)}" (not only subdomains)`,
        hint: `write "*.${host.slice(1).replace(/^[.-]/, "")}" if you mean the subdomains`,
      });
    }
  });
  return issues;
}

function checkAddresses(spec: ServiceEntrySpec, resolution: string): FieldIssue[] {
  const issues: FieldIssue[] = [];
  (spec.addresses ?? []).forEach((address, i) => {
    const path: FieldPath = ["spec", "addresses", i];
    if (!isIpSubnet(address)) {
      issues.push({
        path,
        message: `address "${address}" is not an IP address or CIDR block`,
        hint: address.startsWith(unixAddressPrefix) ? "Unix sockets go in endpoints, not addresses" : "write an IP such as 240.0.0.1 or a CIDR such as 192.168.0.0/24",
      });
    } else if (address.includes("/") && resolution !== "NONE" && resolution !== "STATIC") {
      issues.push({
        path,
        message: `CIDR address "${address}" cannot be used with resolution ${resolution}`,
        hint: "use resolution NONE or STATIC with CIDR blocks, or give a single IP",
      });
    }
  });
  return issues;
}

function checkPorts(spec: ServiceEntrySpec, resolution: string): FieldIssue[] {
  const issues: FieldIssue[] = [];
  const names = new Map<string, number>();
  const numbers = new Map<number, number>();
  (spec.ports ?? []).forEach((port, i) => {
    const path: FieldPath = ["spec", "ports", i];
    issues.push(...portNameIssues(port.name, [...path, "name"], { example: "http or https-api" }));
    const sameName = names.get(port.name);
    if (sameName !== undefined) {
      issues.push({ path: [...path, "name"], message: `port name "${port.name}" is already used by ports[${sameName}]`, hint: "give each port a unique name" });
    } else {
      names.set(port.name, i);
    }
    const sameNumber = numbers.get(port.number);
    if (sameNumber !== undefined) {
      issues.push({ path: [...path, "number"], message: `port ${port.number} is already defined by ports[${sameNumber}]`, hint: "list each port number once" });
    } else {
      numbers.set(port.number, i);
    }
    const protocol = protocolIssue(port.protocol, [...path, "protocol"]);
    if (protocol !== undefined) issues.push(protocol);
    if (port.targetPort !== undefined && resolution === "NONE") {
      issues.push({
        path: [...path, "targetPort"],
        severity: "warning",
        message: "targetPort has no effect with resolution NONE: traffic keeps its original destination port",
        hint: "remove targetPort, or use resolution STATIC or DNS",
      });
    }
  });
  return issues;
}

function checkResolution(spec: ServiceEntrySpec, resolution: string): FieldIssue[] {
  const issues: FieldIssue[] = [];
  const endpoints = spec.endpoints ?? [];
  const servicePortNames = new Set((spec.ports ?? []).map((p) => p.name));
  const selectorWarning = (): FieldIssue => ({
    path: ["spec", "workloadSelector"],
    severity: "warning",
    message: `workloadSelector has no effect with resolution ${resolution}`,
    hint: "use resolution STATIC to take the endpoints from the selected workloads",
  });
  switch (resolution) {
    case "NONE":
      if (endpoints.length > 0) {
        issues.push({
          path: ["spec", "endpoints"],
          message: "resolution NONE forwards to the address the caller connected to, so endpoints cannot be given",
          hint: "remove endpoints, or set resolution: STATIC (IP endpoints) or DNS (host name endpoints)",
        });
      }
      if (spec.workloadSelector !== undefined) issues.push(selectorWarning());
      break;
    case "STATIC":
      endpoints.forEach((endpoint, i) => {
        const path: FieldPath = ["spec", "endpoints", i];
        issues.push(...checkEndpoint(endpoint, path, { allowDnsName: false, servicePortNames }));
        if ((endpoint.address ?? "").startsWith(unixAddressPrefix) && servicePortNames.size !== 1) {
          issues.push({
            path: [...path, "address"],
            message: `unix socket endpoint "${endpoint.address}" needs exactly one service port, found ${servicePortNames.size}`,
            hint: "declare a single port under spec.ports",
          });
        }
      });
      if (endpoints.length === 0 && spec.workloadSelector === undefined) {
        issues.push({
          path: ["spec", "resolution"],
          severity: "warning",
          message: "resolution STATIC without endpoints or workloadSelector: the service only gets endpoints from WorkloadEntries of the same hosts",
          hint: "add endpoints with IP addresses, or a workloadSelector",
        });
      }
      break;
    case "DNS":
    case "DNS_ROUND_ROBIN":
      if (endpoints.length === 0) {
        spec.hosts.forEach((host, i) => {
          if (host.includes("*") || fqdnProblem(host) !== undefined) {
            issues.push({
              name: "InvalidHost",
              path: ["spec", "hosts", i],
              message: `host "${host}" cannot be resolved with resolution ${resolution}: without endpoints every host must be a DNS name, without wildcards`,
              hint: "use resolution NONE (or DYNAMIC_DNS) for wildcard hosts, or add endpoints",
            });
          }
        });
      }
      if (resolution === "DNS_ROUND_ROBIN" && endpoints.length > 1) {
        issues.push({
          path: ["spec", "endpoints"],
          message: `resolution DNS_ROUND_ROBIN allows at most one endpoint, found ${endpoints.length}`,
          hint: "use resolution DNS for several endpoints",
        });
      }
      endpoints.forEach((endpoint, i) => {
        const path: FieldPath = ["spec", "endpoints", i];
        if ((endpoint.address ?? "").startsWith(unixAddressPrefix)) {
          issues.push({
            path: [...path, "address"],
            message: `unix socket endpoint "${endpoint.address}" cannot be resolved with DNS`,
            hint: "use resolution STATIC for Unix domain sockets",
          });
          return;
        }
        issues.push(...checkEndpoint(endpoint, path, { allowDnsName: true, servicePortNames }));
      });
      if (spec.workloadSelector !== undefined) issues.push(selectorWarning());
      if ((spec.addresses ?? []).length > 0 && spec.hosts.length > 1 && (spec.ports ?? []).some((p) => (p.protocol ?? "").toUpperCase() === "TCP")) {
        issues.push({
          path: ["spec", "hosts"],
          severity: "warning",
          message: "several hosts share the addresses of a TCP port, so connections cannot be told apart",
          hint: "use one ServiceEntry per host",
        });
      }
      break;
    case "DYNAMIC_DNS":
      spec.hosts.forEach((host, i) => {
        if (!host.startsWith("*")) {
          issues.push({
            name: "InvalidHost",
            path: ["spec", "hosts", i],
            message: `resolution DYNAMIC_DNS needs wildcard hosts, but "${host}" is not one`,
            hint: "write *.example.com, or use resolution DNS for a fixed name",
          });
        }
      });
      if ((spec.location ?? "MESH_EXTERNAL") !== "MESH_EXTERNAL") {
        issues.push({ path: ["spec", "location"], message: "resolution DYNAMIC_DNS is only supported for MESH_EXTERNAL services", hint: "set location: MESH_EXTERNAL" });
      }
      if (endpoints.length > 0) {
        issues.push({ path: ["spec", "endpoints"], severity: "warning", message: "endpoints are ignored with resolution DYNAMIC_DNS", hint: "remove endpoints" });
      }
      break;
  }
  return issues;
}

/** Semantic checks of a ServiceEntry spec beyond its schema. */
export const checkServiceEntry: SpecRule<ServiceEntrySpec> = (spec, context) => {
  const resolution = spec.resolution ?? "NONE";
  const issues: FieldIssue[] = [...checkHosts(spec), ...checkAddresses(spec, resolution), ...checkPorts(spec, resolution), ...checkResolution(spec, resolution)];
  // Plain TCP carries no host name, so with several hosts the proxy could not pick one
  // (NONE ignores the hosts and forwards to the original destination).
  if (resolution !== "NONE" && spec.hosts.length > 1) {
    const index = (spec.ports ?? []).findIndex((p) => !distinguishesHosts(p));
    if (index !== -1) {
      const port = spec.ports?.[index] as ServicePort;
      issues.push({
        path: ["spec", "ports", index, "protocol"],
        message: `port ${port.number} (${port.protocol ?? "no protocol"}) cannot serve several hosts: only HTTP (Host header) and TLS (SNI) traffic carries the host name`,
        hint: "set an HTTP or TLS protocol on the port, or use one ServiceEntry per host",
      });
    }
  }
  if (spec.workloadSelector !== undefined) {
    issues.push(...selectorIssues(spec.workloadSelector, ["spec", "workloadSelector"], { labelsField: "labels" }));
    if ((spec.location ?? "MESH_EXTERNAL") === "MESH_EXTERNAL") {
      issues.push({
        path: ["spec", "workloadSelector"],
        severity: "warning",
        message: "workloadSelector selects mesh workloads, but location is MESH_EXTERNAL (the default)",
        hint: "set location: MESH_INTERNAL for workloads in the mesh",
      });
    }
  }
  issues.push(...exportToIssues(spec.exportTo, ["spec", "exportTo"], { namespace: context.namespace, allowNone: true }));
  return issues;
};
