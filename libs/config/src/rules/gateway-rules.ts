// Semantic checks on a Gateway spec that the schema cannot express: the rules Istio's validation
// webhook applies (istio/istio pkg/config/validation: ValidateGateway, validateServer), written in
// our own words. Server TLS settings are checked by server-tls.ts, shared with Sidecar ingress.
import type { FieldPath, SpecRule } from "../field-issue.ts";
import { closestName } from "../closest-name.ts";
import type { GatewaySpec, Server } from "../schema/gateway.ts";
import { GatewayPortProtocols } from "../schema/gateway.ts";
import { isDnsLabel, wildcardDomainProblem } from "./host-names.ts";
import { isIpAddress } from "./ip-addresses.ts";
import { IssueList } from "./issue-list.ts";
import { checkPortNumber } from "./ports.ts";
import { isHttpProtocol, isTlsProtocol } from "./protocols.ts";
import { checkServerTls } from "./server-tls.ts";
import { unixAddressPrefix, unixAddressProblem } from "./unix-addresses.ts";

const q = (value: unknown): string => JSON.stringify(value);

type Protocol = (typeof GatewayPortProtocols)[number];

/** The protocol a port declares, compared case-insensitively as Istio does; undefined when unsupported. */
function parseProtocol(text: string): Protocol | undefined {
  return GatewayPortProtocols.find((p) => p === text.toUpperCase());
}

/**
 * Semantic checks of a Gateway spec (after the schema passed): servers, their hosts, ports and TLS
 * settings, and port names unique across servers.
 */
export const checkGateway: SpecRule<GatewaySpec> = (spec, context) => {
  const issues = new IssueList();
  // Routes refer to gateways as <namespace>/<name>, so a dotted name could never be referenced.
  if (context.name !== "" && !isDnsLabel(context.name)) {
    issues.error(["metadata", "name"], `gateway name ${q(context.name)} is not a DNS label`, "use lowercase letters, digits and '-' (no dots), e.g. bookinfo-gateway");
  }
  if (spec.servers.length === 0) {
    issues.error(["spec", "servers"], "the Gateway has no servers", "add a server with port, hosts and (for HTTPS/TLS) tls settings", "MissingField");
  }
  const portNames = new Map<string, number>();
  const serverNames = new Map<string, number>();
  for (const [i, server] of spec.servers.entries()) {
    const path = ["spec", "servers", i];
    checkServer(server, path, issues);

    const portName = server.port.name;
    const first = portNames.get(portName);
    if (first !== undefined && portName !== "") {
      issues.error([...path, "port", "name"], `port name ${q(portName)} is already used by servers[${first}]`, "give each server's port a unique name, e.g. https-443");
    } else {
      portNames.set(portName, i);
    }
    if (server.name !== undefined && server.name !== "") {
      const firstServer = serverNames.get(server.name);
      if (firstServer !== undefined) {
        issues.error([...path, "name"], `server name ${q(server.name)} is already used by servers[${firstServer}]`, "server names must be unique within a Gateway");
      } else {
        serverNames.set(server.name, i);
      }
    }
    if (server.tls?.httpsRedirect && !isHttpProtocol(parseProtocol(server.port.protocol))) {
      issues.warn([...path, "tls", "httpsRedirect"], `httpsRedirect has no effect on a ${q(server.port.protocol)} port`, "use httpsRedirect on the plain HTTP server (port 80) that should redirect to HTTPS");
    }
  }
  return issues.list;
};

function checkServer(server: Server, path: FieldPath, issues: IssueList): void {
  if (server.hosts.length === 0) {
    issues.error([...path, "hosts"], "server has no hosts", "list the hosts it exposes, e.g. hosts: [\"bookinfo.example.com\"] or [\"*\"]", "MissingField");
  }
  for (const [i, host] of server.hosts.entries()) checkServerHost(host, [...path, "hosts", i], issues);

  const protocol = parseProtocol(server.port.protocol);
  checkServerPort(server, protocol, [...path, "port"], issues);
  checkBind(server, path, issues);
  if (server.defaultEndpoint !== undefined) {
    issues.warn([...path, "defaultEndpoint"], "defaultEndpoint is not implemented for gateways and is ignored", "remove it");
  }
  if (server.tls) issues.add(checkServerTls(server.tls, [...path, "tls"]));

  if (protocol === undefined) return;
  if (isTlsProtocol(protocol) && !server.tls) {
    issues.error([...path, "tls"], `protocol ${protocol} needs tls settings on the server`, protocol === "HTTPS" ? "add tls: {mode: SIMPLE, credentialName: <secret>}" : "add tls: {mode: PASSTHROUGH} (route by SNI) or a terminating mode", "MissingField");
  } else if (!isTlsProtocol(protocol) && server.tls) {
    const tls = server.tls;
    const passthrough = tls.mode === undefined || tls.mode === "PASSTHROUGH" || tls.mode === "AUTO_PASSTHROUGH";
    const hasFiles = Boolean(tls.serverCertificate || tls.privateKey || tls.caCertificates);
    if (!isHttpProtocol(protocol)) {
      issues.error([...path, "tls"], `protocol ${protocol} cannot carry tls settings`, "use protocol TLS or HTTPS for TLS traffic");
    } else if (!passthrough || hasFiles) {
      issues.error([...path, "tls"], `plain-text protocol ${protocol} cannot terminate TLS`, "use protocol HTTPS for TLS termination; on an HTTP port only tls.httpsRedirect is allowed");
    }
  }
}

/** Server hosts: `[namespace/]dnsName`, namespace `*`, `.` or a name; dnsName a FQDN, `*`, `*.domain` or an IP. */
function checkServerHost(host: string, path: FieldPath, issues: IssueList): void {
  const slash = host.indexOf("/");
  if (slash < 0) {
    checkServerDnsName(host, host, path, issues);
    return;
  }
  const ns = host.slice(0, slash);
  const name = host.slice(slash + 1);
  if (ns === "" || name === "") {
    issues.error(path, `host ${q(host)} has an empty namespace or name`, "write <namespace>/<dnsName>, e.g. prod/*.example.com, or just the name", "InvalidHost");
    return;
  }
  if (ns !== "*" && ns !== "." && !isDnsLabel(ns)) {
    issues.error(path, `host ${q(host)}: namespace ${q(ns)} is not "*", "." or a namespace name`, "use * (any namespace), . (the gateway's namespace) or a namespace name", "InvalidHost");
  }
  checkServerDnsName(name, host, path, issues);
}

function checkServerDnsName(name: string, host: string, path: FieldPath, issues: IssueList): void {
  if (name !== "*" && !name.includes(".") && !isIpAddress(name)) {
    issues.error(path, `host ${q(host)} is a short name`, "gateway hosts must be fully qualified, e.g. reviews.prod.svc.cluster.local or bookinfo.example.com", "InvalidHost");
    return;
  }
  if (name.includes("*") && name !== "*" && !name.startsWith("*.")) {
    issues.error(path, `host ${q(host)} has a partial wildcard`, "a wildcard must be the whole first label: *.example.com or *", "InvalidHost");
    return;
  }
  const problem = wildcardDomainProblem(name);
  if (problem !== undefined && !isIpAddress(name)) {
    issues.error(path, `host ${q(host)} ${problem}`, name.includes(":") ? "hosts are names without a port; the port is in server.port" : "use a DNS name (lowercase letters, digits, '-' and '.'), *.domain or *", "InvalidHost");
  }
}

function checkServerPort(server: Server, protocol: Protocol | undefined, path: FieldPath, issues: IssueList): void {
  const port = server.port;
  if (protocol === undefined) {
    const near = closestName(port.protocol, GatewayPortProtocols);
    issues.error([...path, "protocol"], `protocol ${q(port.protocol)} is not supported on a gateway`, near !== undefined ? `did you mean ${near}?` : `use one of ${GatewayPortProtocols.join(", ")}`);
  }
  const unixSocket = (server.bind ?? "").startsWith(unixAddressPrefix);
  if (unixSocket) {
    if (port.number !== 0) issues.error([...path, "number"], `port ${port.number} with a unix domain socket bind`, "a server bound to unix:// must use port number 0");
  } else {
    issues.add(checkPortNumber(port.number, [...path, "number"]));
  }
  if (port.targetPort !== undefined && port.targetPort > 0) {
    issues.error([...path, "targetPort"], "targetPort has no effect on a gateway", "remove targetPort; the gateway listens on port.number");
  }
  if (port.name === "") {
    issues.error([...path, "name"], "port name is empty", "name the port, e.g. http or https-443", "MissingField");
  }
}

function checkBind(server: Server, path: FieldPath, issues: IssueList): void {
  const bind = server.bind;
  if (bind === undefined || bind === "") return;
  if (bind.startsWith(unixAddressPrefix)) {
    const socket = bind.slice(unixAddressPrefix.length);
    // Stricter than a workload's address: an abstract socket needs a name after the "@".
    if (socket === "@" || unixAddressProblem(socket) !== undefined) issues.error([...path, "bind"], `bind ${q(bind)} is not a unix socket path`, "write unix:///absolute/path or unix://@abstract-name");
  } else if (!isIpAddress(bind)) {
    issues.error([...path, "bind"], `bind ${q(bind)} is not an IP address`, "give an IP address (e.g. 0.0.0.0) or unix:///path/to/socket");
  }
}
