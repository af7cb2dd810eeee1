// Semantic checks of a Sidecar beyond its schema: listener ports and binds, ingress default
// endpoints and TLS, egress hosts in namespace/dnsName form, the outbound traffic policy.
// Follows Istio's webhook (istio/istio pkg/config/validation: ValidateSidecar and helpers).
import type { FieldIssue, FieldPath, RuleContext, SpecRule } from "../field-issue.ts";
import type { IstioEgressListener, IstioIngressListener, OutboundTrafficPolicy, SidecarPort, SidecarSpec } from "../schema/sidecar.ts";
import { checkConnectionPool } from "./connection-pool.ts";
import { fqdnProblem, isDnsLabel, wildcardDomainProblem } from "./host-names.ts";
import { isIpAddress } from "./ip-addresses.ts";
import { selectorIssues } from "./labels.ts";
import { checkPortNumber, portNameIssues } from "./ports.ts";
import { isHttpProtocol, protocolIssue } from "./protocols.ts";
import { checkServerTls, type ServerTlsRestrictions } from "./server-tls.ts";
import { unixAddressPrefix, unixAddressProblem } from "./unix-addresses.ts";

/** What Istio rejects in a Sidecar ingress listener's TLS (ValidateSidecar): Istio certificates, secrets, redirects. */
const ingressTls: ServerTlsRestrictions = {
  listener: "Sidecar ingress listener",
  forbiddenFields: ["subjectAltNames", "httpsRedirect", "credentialName", "credentialNames"],
  forbiddenModes: ["ISTIO_MUTUAL", "AUTO_PASSTHROUGH"],
};

/** A listener's port number: unset or outside 1..65535 is an error (callers handle port 0 of a Unix socket listener first). */
function checkListenerPortNumber(number: number | undefined, path: FieldPath): FieldIssue[] {
  if (number === undefined) {
    return [{ path: [...path, "number"], message: "the listener has no port number", hint: "set the port the listener accepts traffic on, e.g. 9080" }];
  }
  return checkPortNumber(number, [...path, "number"]);
}

/** Name, protocol and targetPort of a listener port (the number is checked by the caller). */
function checkPortFields(port: SidecarPort, path: FieldPath): FieldIssue[] {
  const issues: FieldIssue[] = [];
  if (port.name !== undefined && port.name !== "") issues.push(...portNameIssues(port.name, [...path, "name"], { example: "http-web" }));
  const protocol = protocolIssue(port.protocol, [...path, "protocol"]);
  if (protocol !== undefined) issues.push(protocol);
  if (port.targetPort !== undefined && port.targetPort > 0) {
    issues.push({ path: [...path, "targetPort"], message: "targetPort has no effect on a Sidecar listener", hint: "remove targetPort; use defaultEndpoint to forward to another port" });
  }
  return issues;
}

function checkIpBind(bind: string | undefined, path: FieldPath): FieldIssue[] {
  if (bind === undefined || bind === "" || isIpAddress(bind)) return [];
  return [{ path, message: `bind "${bind}" is not an IP address`, hint: "write an IP such as 127.0.0.1 or 0.0.0.0, or leave bind unset" }];
}

// Addresses the proxy may forward inbound traffic to: the loopback and wildcard addresses.
const defaultEndpointHosts = new Set(["", "127.0.0.1", "0.0.0.0", "::1", "::"]);

function checkDefaultEndpoint(endpoint: string, path: FieldPath): FieldIssue[] {
  const hint = "write 127.0.0.1:PORT, 0.0.0.0:PORT, [::1]:PORT, [::]:PORT or unix:///path/to/socket";
  if (endpoint.startsWith(unixAddressPrefix)) {
    const problem = unixAddressProblem(endpoint.slice(unixAddressPrefix.length));
    return problem === undefined ? [] : [{ path, message: `defaultEndpoint "${endpoint}" ${problem}`, hint }];
  }
  const match = /^(?:\[([^\]]*)\]|([^:[\]]*)):([^:]*)$/.exec(endpoint);
  if (match === null) return [{ path, message: `defaultEndpoint "${endpoint}" is not of the form host:port`, hint }];
  const host = match[1] ?? match[2] ?? "";
  const port = match[3] as string;
  const issues: FieldIssue[] = [];
  if (!defaultEndpointHosts.has(host)) {
    issues.push({ path, message: `defaultEndpoint "${endpoint}" must point at the loopback or wildcard address, not "${host}"`, hint });
  }
  if (!/^[0-9]+$/.test(port) || Number(port) < 1 || Number(port) > 65535) {
    issues.push({ path, message: `defaultEndpoint "${endpoint}" has port "${port}", not a number in 1..65535`, hint });
  }
  return issues;
}

function checkIngress(listeners: readonly IstioIngressListener[]): FieldIssue[] {
  const issues: FieldIssue[] = [];
  const ports = new Map<number, number>();
  listeners.forEach((listener, i) => {
    const path: FieldPath = ["spec", "ingress", i];
    const port = listener.port;
    issues.push(...checkPortFields(port, [...path, "port"]), ...checkListenerPortNumber(port.number, [...path, "port"]), ...checkIpBind(listener.bind, [...path, "bind"]));
    if (port.number !== undefined) {
      const earlier = ports.get(port.number);
      if (earlier !== undefined) {
        issues.push({ path: [...path, "port", "number"], message: `port ${port.number} is already used by ingress[${earlier}]`, hint: "give each ingress listener its own port" });
      } else {
        ports.set(port.number, i);
      }
    }
    if (listener.defaultEndpoint !== undefined && listener.defaultEndpoint !== "") {
      issues.push(...checkDefaultEndpoint(listener.defaultEndpoint, [...path, "defaultEndpoint"]));
    }
    if (listener.tls !== undefined) issues.push(...checkServerTls(listener.tls, [...path, "tls"], ingressTls));
    issues.push(...checkConnectionPool(listener.connectionPool, [...path, "connectionPool"]));
    if (listener.connectionPool?.http !== undefined && !isHttpProtocol(port.protocol)) {
      issues.push({
        path: [...path, "connectionPool", "http"],
        severity: "warning",
        message: `HTTP connection pool settings on port ${port.number ?? "?"} have no effect: its protocol is ${port.protocol ?? "unset"}, not HTTP`,
        hint: "set an HTTP protocol on the port, or keep only tcp settings",
      });
    }
  });
  return issues;
}

function checkEgressPort(listener: IstioEgressListener, port: SidecarPort, path: FieldPath): FieldIssue[] {
  const issues = checkPortFields(port, [...path, "port"]);
  const bind = listener.bind ?? "";
  if ((port.number ?? 0) === 0) {
    // Port 0 means a Unix domain socket listener.
    if (!bind.startsWith(unixAddressPrefix)) {
      issues.push({
        path: [...path, "port", "number"],
        message: "port 0 is only for Unix domain socket listeners, but bind is not a unix:// address",
        hint: "set a port number, or bind: unix:///path/to/socket",
      });
    } else {
      const problem = unixAddressProblem(bind.slice(unixAddressPrefix.length));
      if (problem !== undefined) issues.push({ path: [...path, "bind"], message: `bind "${bind}" ${problem}`, hint: "write unix:///absolute/path or unix://@abstract-name" });
    }
    if (listener.captureMode === "IPTABLES") {
      issues.push({ path: [...path, "captureMode"], message: "a Unix domain socket listener cannot use captureMode IPTABLES", hint: "use captureMode DEFAULT or NONE" });
    }
  } else {
    issues.push(...checkListenerPortNumber(port.number, [...path, "port"]), ...checkIpBind(bind, [...path, "bind"]));
  }
  return issues;
}

/** The namespace a Kubernetes service named in an egress host would live in, for hints. */
function serviceNamespace(namespace: string, ownNamespace: string | undefined): string {
  if (namespace === ".") return ownNamespace ?? "<namespace>";
  return namespace === "*" || namespace === "~" ? "<namespace>" : namespace;
}

/** Checks an egress host `namespace/dnsName`, as Istio's ValidateNamespaceSlashWildcardHostname for sidecars. */
function checkEgressHost(host: string, path: FieldPath, ownNamespace: string | undefined): FieldIssue[] {
  const slash = host.indexOf("/");
  if (slash === -1) {
    return [{
      name: "InvalidHost",
      path,
      message: `egress host "${host}" is not of the form namespace/dnsName`,
      hint: `write "*/${host}" (any namespace) or "./${host}" (this namespace)`,
    }];
  }
  const namespace = host.slice(0, slash);
  const name = host.slice(slash + 1);
  if (namespace === "" || name === "") {
    return [{ name: "InvalidHost", path, message: `egress host "${host}" has an empty namespace or dnsName`, hint: "write e.g. istio-system/* or ./reviews.default.svc.cluster.local" }];
  }
  const issues: FieldIssue[] = [];
  if (namespace !== "*" && namespace !== "." && namespace !== "~" && !isDnsLabel(namespace)) {
    issues.push({ name: "InvalidHost", path, message: `egress host "${host}": "${namespace}" is not a namespace name`, hint: "use a namespace name, \".\" (this namespace), \"*\" (any) or \"~\" (none)" });
  }
  if (name !== "*") {
    if (!name.includes(".")) {
      issues.push({
        name: "InvalidHost",
        path,
        message: `egress host "${host}": "${name}" is a short name; egress hosts must be fully qualified`,
        hint: `write e.g. "${namespace}/${name}.${serviceNamespace(namespace, ownNamespace)}.svc.cluster.local"`,
      });
    } else if (name.includes("*") && !name.startsWith("*.")) {
      issues.push({ name: "InvalidHost", path, message: `egress host "${host}": partial wildcard "${name}" is not allowed`, hint: "use * or a *.suffix wildcard, e.g. *.example.com" });
    } else {
      const problem = wildcardDomainProblem(name);
      if (problem !== undefined) issues.push({ name: "InvalidHost", path, message: `egress host "${host}": "${name}" ${problem}`, hint: "write a fully-qualified DNS name" });
    }
  }
  return issues;
}

// Hosts of one listener: each must be well formed; overlapping entries (duplicates, a namespace
// wildcard beside a host of that namespace, the all-namespaces wildcard beside anything) are warnings.
function checkEgressHosts(hosts: readonly string[], path: FieldPath, context: RuleContext): FieldIssue[] {
  const issues: FieldIssue[] = [];
  const byNamespace = new Map<string, Set<string>>();
  hosts.forEach((host, i) => {
    const hostPath = [...path, i];
    issues.push(...checkEgressHost(host, hostPath, context.namespace));
    const slash = host.indexOf("/");
    if (slash === -1) return;
    const namespace = host.slice(0, slash) === "." ? (context.namespace ?? ".") : host.slice(0, slash);
    const name = host.slice(slash + 1);
    const names = byNamespace.get(namespace) ?? new Set<string>();
    const duplicate = name === "*" ? names.size > 0 : names.has(name) || names.has("*");
    if (duplicate) {
      issues.push({ path: hostPath, severity: "warning", message: `egress host "${host}" overlaps an earlier host of namespace "${namespace}"`, hint: "remove the redundant entry" });
    }
    names.add(name);
    byNamespace.set(namespace, names);
  });
  if (byNamespace.get("*")?.has("*") === true && byNamespace.size > 1) {
    issues.push({ path, severity: "warning", message: `"*/*" already imports every service; the other hosts add nothing`, hint: "keep only */*, or list the namespaces you need" });
  }
  return issues;
}

function checkEgress(listeners: readonly IstioEgressListener[], context: RuleContext): FieldIssue[] {
  const issues: FieldIssue[] = [];
  const ports = new Map<number, number>();
  const sockets = new Map<string, number>();
  let catchAll: number | undefined;
  listeners.forEach((listener, i) => {
    const path: FieldPath = ["spec", "egress", i];
    const port = listener.port;
    if (port === undefined) {
      if (catchAll !== undefined) {
        issues.push({ path, message: `only one egress listener may omit the port; egress[${catchAll}] already does`, hint: "merge the hosts of the two catch-all listeners" });
      } else if (i !== listeners.length - 1) {
        issues.push({ path, message: "the egress listener without a port must be the last one", hint: "move it to the end of the egress list" });
      }
      catchAll ??= i;
    } else {
      issues.push(...checkEgressPort(listener, port, path));
      const number = port.number ?? 0;
      if (number === 0) {
        const bind = listener.bind ?? "";
        const earlier = sockets.get(bind);
        if (earlier !== undefined) issues.push({ path: [...path, "bind"], message: `socket "${bind}" is already used by egress[${earlier}]`, hint: "give each Unix socket listener its own path" });
        else sockets.set(bind, i);
      } else {
        const earlier = ports.get(number);
        if (earlier !== undefined) issues.push({ path: [...path, "port", "number"], message: `port ${number} is already used by egress[${earlier}]`, hint: "merge the hosts into one listener per port" });
        else ports.set(number, i);
      }
    }
    issues.push(...checkEgressHosts(listener.hosts, [...path, "hosts"], context));
  });
  return issues;
}

function checkOutboundTrafficPolicy(policy: OutboundTrafficPolicy | undefined): FieldIssue[] {
  const proxy = policy?.egressProxy;
  if (policy === undefined || proxy === undefined) return [];
  const path: FieldPath = ["spec", "outboundTrafficPolicy", "egressProxy"];
  const mode = policy.mode ?? "REGISTRY_ONLY";
  if (mode !== "ALLOW_ANY") {
    return [{
      path,
      message: `egressProxy only applies with mode ALLOW_ANY, but mode is ${policy.mode === undefined ? "unset, which means REGISTRY_ONLY here" : mode}`,
      hint: "set mode: ALLOW_ANY, or remove egressProxy",
    }];
  }
  const issues: FieldIssue[] = [];
  const problem = proxy.host.includes("*") ? "contains a wildcard" : fqdnProblem(proxy.host);
  if (problem !== undefined) {
    issues.push({ name: "InvalidHost", path: [...path, "host"], message: `egressProxy host "${proxy.host}" ${problem}`, hint: "name one service, e.g. egress-proxy.egress.svc.cluster.local" });
  }
  if (proxy.port === undefined || (proxy.port.number ?? 0) === 0) {
    issues.push({ name: "MissingField", path: [...path, "port"], message: "egressProxy needs a port", hint: "add port: {number: 3128}" });
  }
  if (proxy.subset !== undefined && !isDnsLabel(proxy.subset)) {
    issues.push({ path: [...path, "subset"], message: `subset name "${proxy.subset}" is not a DNS label`, hint: "use the name of a subset of the DestinationRule, e.g. v1" });
  }
  return issues;
}

/** Semantic checks of a Sidecar spec beyond its schema. */
export const checkSidecar: SpecRule<SidecarSpec> = (spec, context) => {
  const issues: FieldIssue[] = [];
  issues.push(...selectorIssues(spec.workloadSelector, ["spec", "workloadSelector"], { labelsField: "labels" }));
  const ingress = spec.ingress ?? [];
  const egress = spec.egress ?? [];
  if (ingress.length === 0 && egress.length === 0 && spec.outboundTrafficPolicy === undefined && spec.inboundConnectionPool === undefined) {
    issues.push({
      name: "MissingField",
      path: ["spec", "egress"],
      message: "the Sidecar configures nothing",
      hint: "add egress (e.g. hosts: [\"./*\", \"istio-system/*\"]), ingress, outboundTrafficPolicy or inboundConnectionPool",
    });
  }
  issues.push(
    ...checkIngress(ingress),
    ...checkConnectionPool(spec.inboundConnectionPool, ["spec", "inboundConnectionPool"]),
    ...checkEgress(egress, context),
    ...checkOutboundTrafficPolicy(spec.outboundTrafficPolicy),
  );
  return issues;
};
