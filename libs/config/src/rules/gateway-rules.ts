// Semantic checks on a Gateway spec that the schema cannot express: the rules Istio's validation
// webhook applies (istio/istio pkg/config/validation: ValidateGateway, validateServer,
// validateTLSOptions), written in our own words.
import type { FieldPath, SpecRule } from "../field-issue.ts";
import { closestName } from "../closest-name.ts";
import type { GatewaySpec, Server, ServerTLSSettings, TLSProtocol } from "../schema/gateway.ts";
import { GatewayPortProtocols } from "../schema/gateway.ts";
import { IssueList, isDnsLabel, isIpAddress, wildcardDomainProblem } from "./virtual-service-rules.ts";

const q = (value: unknown): string => JSON.stringify(value);

type Protocol = (typeof GatewayPortProtocols)[number];

/** The protocol a port declares, compared case-insensitively as Istio does; undefined when unsupported. */
function parseProtocol(text: string): Protocol | undefined {
  return GatewayPortProtocols.find((p) => p === text.toUpperCase());
}

const isTlsProtocol = (p: Protocol | undefined): boolean => p === "HTTPS" || p === "TLS";
const isHttpProtocol = (p: Protocol | undefined): boolean => p === "HTTP" || p === "HTTP2" || p === "GRPC" || p === "GRPC-WEB";

const unixPrefix = "unix://";

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
  if (server.tls) checkServerTLS(server.tls, [...path, "tls"], issues);

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
  const unixSocket = (server.bind ?? "").startsWith(unixPrefix);
  if (unixSocket) {
    if (port.number !== 0) issues.error([...path, "number"], `port ${port.number} with a unix domain socket bind`, "a server bound to unix:// must use port number 0");
  } else if (port.number < 1 || port.number > 65535) {
    issues.error([...path, "number"], `port ${port.number} is not in the range 1..65535`, "give a port number from 1 to 65535");
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
  if (bind.startsWith(unixPrefix)) {
    const socket = bind.slice(unixPrefix.length);
    const valid = socket.startsWith("@") ? socket.length > 1 : socket.startsWith("/") && !socket.endsWith("/");
    if (!valid) issues.error([...path, "bind"], `bind ${q(bind)} is not a unix socket path`, "write unix:///absolute/path or unix://@abstract-name");
  } else if (!isIpAddress(bind)) {
    issues.error([...path, "bind"], `bind ${q(bind)} is not an IP address`, "give an IP address (e.g. 0.0.0.0) or unix:///path/to/socket");
  }
}

// Cipher suites Envoy accepts in TLS 1.2 cipher lists (Istio pkg/config/security).
const validCipherSuites = new Set([
  "ECDHE-ECDSA-AES128-GCM-SHA256",
  "ECDHE-RSA-AES128-GCM-SHA256",
  "ECDHE-ECDSA-AES256-GCM-SHA384",
  "ECDHE-RSA-AES256-GCM-SHA384",
  "ECDHE-ECDSA-CHACHA20-POLY1305",
  "ECDHE-RSA-CHACHA20-POLY1305",
  "ECDHE-ECDSA-AES128-SHA",
  "ECDHE-RSA-AES128-SHA",
  "ECDHE-ECDSA-AES256-SHA",
  "ECDHE-RSA-AES256-SHA",
  "AES128-GCM-SHA256",
  "AES256-GCM-SHA384",
  "AES128-SHA",
  "AES256-SHA",
  "DES-CBC3-SHA",
]);

/** A cipher name, or an equal-preference group `[A|B]` of them (BoringSSL syntax). */
function isValidCipherSuite(cipher: string): boolean {
  if (cipher.startsWith("[") && cipher.endsWith("]")) return cipher.slice(1, -1).split("|").every((c) => validCipherSuites.has(c));
  return validCipherSuites.has(cipher);
}

const protocolOrder: readonly TLSProtocol[] = ["TLS_AUTO", "TLSV1_0", "TLSV1_1", "TLSV1_2", "TLSV1_3"];

function checkServerTLS(tls: ServerTLSSettings, path: FieldPath, issues: IssueList): void {
  const mode = tls.mode ?? "PASSTHROUGH";
  const credentialNames = tls.credentialNames ?? [];
  const tlsCertificates = tls.tlsCertificates ?? [];

  checkProtocolVersions(tls, path, issues);
  checkCipherSuites(tls.cipherSuites ?? [], [...path, "cipherSuites"], issues);

  if (mode === "ISTIO_MUTUAL") {
    const fields: string[] = (["serverCertificate", "privateKey", "caCertificates", "credentialName"] as const).filter((f) => tls[f]);
    if (tlsCertificates.length > 0) fields.push("tlsCertificates");
    if (credentialNames.length > 0) fields.push("credentialNames");
    for (const field of fields) {
      issues.error([...path, field], `ISTIO_MUTUAL uses Istio-issued certificates; ${field} cannot be set`, `remove ${field}, or use mode MUTUAL with your own certificates`);
    }
    return;
  }
  if (mode === "PASSTHROUGH" || mode === "AUTO_PASSTHROUGH") {
    if (tls.caCrl || tls.serverCertificate || tls.privateKey || tls.caCertificates || tls.credentialName || credentialNames.length > 0 || tlsCertificates.length > 0) {
      issues.warn(path, `${mode} does not terminate TLS, so its certificate settings are ignored`, "remove the certificates, or use mode SIMPLE/MUTUAL to terminate TLS");
    }
  }

  const sources = [
    tls.serverCertificate && tls.privateKey ? "serverCertificate/privateKey" : undefined,
    tls.credentialName ? "credentialName" : undefined,
    credentialNames.length > 0 ? "credentialNames" : undefined,
    tlsCertificates.length > 0 ? "tlsCertificates" : undefined,
  ].filter((s): s is string => s !== undefined);
  if (sources.length > 1) {
    issues.error(path, `certificates come from several places: ${sources.join(", ")}`, "use exactly one of credentialName, credentialNames, serverCertificate/privateKey or tlsCertificates", "ExclusiveFields");
  }
  if (credentialNames.length > 2) issues.warn([...path, "credentialNames"], `${credentialNames.length} credentialNames given; at most 2 are used`, "give at most two secrets (one RSA, one ECDSA)");
  if (tlsCertificates.length > 2) issues.warn([...path, "tlsCertificates"], `${tlsCertificates.length} tlsCertificates given; at most 2 are used`, "give at most two certificates (one RSA, one ECDSA)");

  const terminates = mode === "SIMPLE" || mode === "MUTUAL" || mode === "OPTIONAL_MUTUAL";
  const fromCredential = Boolean(tls.credentialName) || credentialNames.length > 0;
  if (terminates && !fromCredential) {
    const label = mode === "SIMPLE" ? "SIMPLE TLS" : `${mode} TLS`;
    if (tlsCertificates.length > 0) {
      for (const [i, cert] of tlsCertificates.entries()) {
        if (!cert.serverCertificate) issues.error([...path, "tlsCertificates", i, "serverCertificate"], `${label} needs a server certificate`, "give serverCertificate (a file path)", "MissingField");
        if (!cert.privateKey) issues.error([...path, "tlsCertificates", i, "privateKey"], `${label} needs a private key`, "give privateKey (a file path)", "MissingField");
      }
    } else {
      const hint = "set credentialName to a secret holding the certificate and key (or give serverCertificate and privateKey file paths)";
      if (!tls.serverCertificate) issues.error([...path, "serverCertificate"], `${label} needs a server certificate`, hint, "MissingField");
      if (!tls.privateKey) issues.error([...path, "privateKey"], `${label} needs a private key`, hint, "MissingField");
    }
    if (mode !== "SIMPLE" && !tls.caCertificates) {
      issues.error([...path, "caCertificates"], `${label} needs CA certificates to verify clients`, "give caCertificates (a file path), or use credentialName with a secret holding ca.crt", "MissingField");
    }
  }
  if (tls.caCrl) {
    if (tls.credentialName) issues.error([...path, "caCrl"], "caCrl cannot be combined with credentialName", "put the CRL in the secret (key ca.crl) instead");
    if (mode === "SIMPLE") issues.error([...path, "caCrl"], "caCrl has no effect with SIMPLE TLS (no client certificates)", "use mode MUTUAL, or remove caCrl");
  }
}

function checkProtocolVersions(tls: ServerTLSSettings, path: FieldPath, issues: IssueList): void {
  const min = tls.minProtocolVersion;
  const max = tls.maxProtocolVersion;
  if ((min === "TLSV1_0" || min === "TLSV1_1") && (tls.cipherSuites ?? []).length === 0) {
    issues.warn([...path, "minProtocolVersion"], `minProtocolVersion ${min} needs older ciphers that are not enabled by default`, "set cipherSuites compatible with TLS 1.0/1.1, or raise minProtocolVersion to TLSV1_2");
  }
  if (min !== undefined && max !== undefined && min !== "TLS_AUTO" && max !== "TLS_AUTO" && protocolOrder.indexOf(min) > protocolOrder.indexOf(max)) {
    issues.error([...path, "minProtocolVersion"], `minProtocolVersion ${min} is above maxProtocolVersion ${max}`, "swap them, or lower minProtocolVersion");
  }
}

function checkCipherSuites(ciphers: readonly string[], path: FieldPath, issues: IssueList): void {
  const seen = new Set<string>();
  for (const [i, cipher] of ciphers.entries()) {
    if (!isValidCipherSuite(cipher)) {
      const near = closestName(cipher, [...validCipherSuites]);
      issues.warn([...path, i], `cipher suite ${q(cipher)} is not known and will be ignored`, near !== undefined ? `did you mean ${near}?` : "use OpenSSL-style names such as ECDHE-RSA-AES128-GCM-SHA256");
    } else if (seen.has(cipher)) {
      issues.warn([...path, i], `cipher suite ${q(cipher)} is listed twice`, "list each cipher once");
    }
    seen.add(cipher);
  }
}
