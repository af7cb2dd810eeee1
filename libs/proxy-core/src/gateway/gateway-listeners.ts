// Router mode (the ingress gateway, Istio's `proxy router`): which ports a gateway proxy listens
// on and, per port, the Gateway servers that accept traffic there. A Gateway applies to every
// proxy whose labels its `selector` matches, in any namespace (Istio's default,
// PILOT_SCOPE_GATEWAY_TO_NAMESPACE=false); an empty selector matches none (Istio requires one to
// bind). HTTPS and TLS servers in SIMPLE, MUTUAL or OPTIONAL_MUTUAL mode terminate TLS with
// certificates from files or a credential, in ISTIO_MUTUAL mode with the gateway's SVID; HTTPS
// servers then serve HTTP, TLS servers forward the decrypted bytes with the VirtualServices' `tcp`
// routes. HTTP servers may redirect to HTTPS; TLS (and HTTPS) servers in PASSTHROUGH mode forward
// the client's TLS by SNI with the `tls` routes, TCP servers forward bytes with the `tcp` routes.
// Pure: computed once per config.
import type { MeshResource } from "@meshwork/config";

/** Node's names of the TLS versions Istio's TLSProtocol names (TLS_AUTO: the proxy's default). */
export type TlsVersionName = "TLSv1" | "TLSv1.1" | "TLSv1.2" | "TLSv1.3";

/** A certificate and its private key, as file paths on the gateway. */
export interface GatewayCertificateFiles {
  readonly certificate: string;
  readonly privateKey: string;
}

/** How an HTTPS or terminating TLS server terminates TLS, from its `tls` settings (ISTIO_MUTUAL: the gateway's own SVID, clients' SVIDs of the mesh). */
export interface GatewayServerTls {
  readonly mode: "SIMPLE" | "MUTUAL" | "OPTIONAL_MUTUAL" | "ISTIO_MUTUAL";
  /** Certificates from files (`serverCertificate`/`privateKey`, or `tlsCertificates`); empty when credentials name them. */
  readonly certificates: readonly GatewayCertificateFiles[];
  /** CA certificates (file) that verify client certificates; undefined = from the credential, or none. */
  readonly caCertificates: string | undefined;
  /** Revocation list (file) for client certificates. */
  readonly caCrl: string | undefined;
  /** Secrets holding the certificate, key and optionally the CA certificates (`credentialName` / `credentialNames`). */
  readonly credentialNames: readonly string[];
  /** Client certificates must carry one of these subject alternative names (empty = any). */
  readonly subjectAltNames: readonly string[];
  /** Client certificates' SHA-256 fingerprints accepted, lower-case hex without colons (empty = any). */
  readonly verifyCertificateHash: readonly string[];
  /** Client certificates' SPKI SHA-256 hashes accepted, base64 (empty = any). */
  readonly verifyCertificateSpki: readonly string[];
  /** Lowest and highest TLS version; TLS 1.2 and 1.3 by default, as Envoy's servers. */
  readonly minVersion: TlsVersionName;
  readonly maxVersion: TlsVersionName;
  /** TLS 1.2 cipher list (OpenSSL syntax), or "" for the defaults. */
  readonly cipherSuites: string;
}

/** One Gateway server bound to a port: the gateway's routes apply to requests whose host it lists. */
export interface GatewayServer {
  /** `namespace/name` of the Gateway: the key of its routes in RouteTable.gateways. */
  readonly gateway: string;
  /** The server's hosts without their namespace part (`*`, `*.example.com`, `bookinfo.example.com`), lowercase. */
  readonly hosts: readonly string[];
  /** Index of the server in the Gateway (for logs). */
  readonly server: number;
  /** HTTPS servers and TLS servers that terminate (mode `terminated-tcp`): how TLS is terminated. */
  readonly tls?: GatewayServerTls;
  /** HTTP servers with `tls.httpsRedirect`: every request gets a 301 to its https:// URL. */
  readonly httpsRedirect?: true;
  /**
   * TLS servers in AUTO_PASSTHROUGH mode: a connection whose SNI is a mesh cluster's
   * (`outbound_.<port>_.<subset>_.<host>`, as sidecars send it) goes to that cluster, no
   * VirtualService needed (Istio's east-west gateway).
   */
  readonly autoPassthrough?: true;
}

/**
 * How a gateway port serves its connections: `http` (HTTP/1.1 and h2c), `https` (TLS terminated,
 * then HTTP), `passthrough` (the client's TLS forwarded by SNI, `tls` routes), `tcp` (`tcp`
 * routes), `terminated-tcp` (TLS terminated, then the decrypted bytes forwarded with the `tcp`
 * routes of the Gateway whose server the SNI chose).
 */
export type GatewayListenerMode = "http" | "https" | "passthrough" | "tcp" | "terminated-tcp";

/** A port the gateway proxy listens on. */
export interface GatewayListener {
  readonly port: number;
  /** The protocol as the servers declare it (upper case); all servers on a port must agree. */
  readonly protocol: string;
  readonly mode: GatewayListenerMode;
  readonly servers: readonly GatewayServer[];
}

export interface GatewayListenersResult {
  /** By port, ascending. */
  readonly listeners: readonly GatewayListener[];
  /** Servers left out, with the reason (conflicting protocols on a port; a protocol router mode does not serve). */
  readonly issues: readonly string[];
}

const httpProtocols = new Set(["HTTP", "HTTP2", "GRPC", "GRPC-WEB"]);
/** Protocols Istio proxies as plain TCP. */
const tcpProtocols = new Set(["TCP", "MONGO", "MYSQL", "REDIS"]);

/** The listeners of a gateway proxy with `labels`, from every Gateway selecting it. */
export function gatewayListeners(gateways: readonly MeshResource<"Gateway">[], labels: Readonly<Record<string, string>>): GatewayListenersResult {
  const byPort = new Map<number, { protocol: string; mode: GatewayListenerMode; servers: GatewayServer[] }>();
  const issues: string[] = [];
  for (const gateway of gateways) {
    if (!gatewaySelects(gateway, labels)) continue;
    const name = `${gateway.metadata.namespace ?? "default"}/${gateway.metadata.name}`;
    gateway.spec.servers.forEach((server, index) => {
      const protocol = server.port.protocol.toUpperCase();
      const where = `Gateway ${name} servers[${index}] (port ${server.port.number})`;
      const mode = serverMode(protocol, server.tls);
      if (mode === undefined) {
        issues.push(`${where}: protocol ${protocol} is not served in router mode (HTTP, HTTP2, GRPC, GRPC-WEB, HTTPS, TLS, TCP are); the server is ignored`);
        return;
      }
      const tls = mode === "https" || mode === "terminated-tcp" ? serverTls(protocol, server.tls) : undefined;
      if (typeof tls === "string") {
        issues.push(`${where}: ${tls}; the server is ignored`);
        return;
      }
      const auto = server.tls?.mode === "AUTO_PASSTHROUGH";
      const existing = byPort.get(server.port.number);
      if (existing && (existing.protocol !== protocol || existing.mode !== mode)) {
        const what = existing.protocol !== protocol ? `protocol ${protocol} conflicts with ${existing.protocol}` : `tls mode ${server.tls?.mode ?? "unset"} conflicts with the ${existing.mode} servers`;
        issues.push(`${where}: ${what} already bound to port ${server.port.number}; the server is ignored`);
        return;
      }
      const entry = existing ?? { protocol, mode, servers: [] };
      const bound: GatewayServer = { gateway: name, hosts: server.hosts.map(hostPart), server: index };
      if (tls) entry.servers.push({ ...bound, tls });
      else if (auto) entry.servers.push({ ...bound, autoPassthrough: true });
      else if (server.tls?.httpsRedirect === true) entry.servers.push({ ...bound, httpsRedirect: true });
      else entry.servers.push(bound);
      byPort.set(server.port.number, entry);
    });
  }
  const listeners = [...byPort.entries()].sort(([a], [b]) => a - b).map(([port, entry]) => ({ port, protocol: entry.protocol, mode: entry.mode, servers: entry.servers }));
  return { listeners, issues };
}

/** Whether `gateway` applies to a proxy with `labels`: a non-empty selector whose every label the proxy has. */
export function gatewaySelects(gateway: MeshResource<"Gateway">, labels: Readonly<Record<string, string>>): boolean {
  const selector = gateway.spec.selector ?? {};
  const keys = Object.keys(selector);
  return keys.length > 0 && keys.every((k) => labels[k] === selector[k]);
}

/**
 * How a server with `protocol` and `tls` is served (TLS mode PASSTHROUGH when unset, as Istio's);
 * undefined for protocols router mode does not serve. A TLS server that does not pass through
 * terminates (serverTls refuses the settings it cannot serve).
 */
function serverMode(protocol: string, tls: ServerTlsSettings | undefined): GatewayListenerMode | undefined {
  if (httpProtocols.has(protocol)) return "http";
  if (tcpProtocols.has(protocol)) return "tcp";
  const tlsMode: string | undefined = tls ? (tls.mode ?? "PASSTHROUGH") : undefined;
  if (protocol === "TLS") return tlsMode === "PASSTHROUGH" || tlsMode === "AUTO_PASSTHROUGH" ? "passthrough" : "terminated-tcp";
  if (protocol === "HTTPS") return tlsMode === "PASSTHROUGH" ? "passthrough" : "https";
  return undefined;
}

type ServerTlsSettings = NonNullable<MeshResource<"Gateway">["spec"]["servers"][number]["tls"]>;

const versionNames: Readonly<Record<string, TlsVersionName>> = { TLSV1_0: "TLSv1", TLSV1_1: "TLSv1.1", TLSV1_2: "TLSv1.2", TLSV1_3: "TLSv1.3" };

/** The TLS termination of an HTTPS or TLS server (also a Sidecar ingress listener's), or why it cannot be served (validation has checked the rest). */
export function serverTls(protocol: string, tls: ServerTlsSettings | undefined): GatewayServerTls | string {
  if (!tls) return `protocol ${protocol} needs tls settings (mode SIMPLE with a certificate, or PASSTHROUGH)`;
  const mode: string = tls.mode ?? "PASSTHROUGH";
  if (mode !== "SIMPLE" && mode !== "MUTUAL" && mode !== "OPTIONAL_MUTUAL" && mode !== "ISTIO_MUTUAL") {
    const served = protocol === "TLS" ? "SIMPLE, MUTUAL, OPTIONAL_MUTUAL, ISTIO_MUTUAL, PASSTHROUGH and AUTO_PASSTHROUGH" : "SIMPLE, MUTUAL, OPTIONAL_MUTUAL, ISTIO_MUTUAL and PASSTHROUGH";
    return `${protocol} with tls mode ${mode} is not served in router mode (${served} are)`;
  }
  const certificates: GatewayCertificateFiles[] = [];
  if (tls.serverCertificate && tls.privateKey) certificates.push({ certificate: tls.serverCertificate, privateKey: tls.privateKey });
  for (const pair of tls.tlsCertificates ?? []) {
    if (pair.serverCertificate && pair.privateKey) certificates.push({ certificate: pair.serverCertificate, privateKey: pair.privateKey });
  }
  const credentialNames = tls.credentialName ? [tls.credentialName] : (tls.credentialNames ?? []);
  if (mode !== "ISTIO_MUTUAL" && certificates.length === 0 && credentialNames.length === 0) {
    return `tls mode ${mode} needs a certificate: set credentialName, or serverCertificate and privateKey`;
  }
  return {
    mode,
    certificates,
    caCertificates: tls.caCertificates || tls.tlsCertificates?.find((pair) => pair.caCertificates)?.caCertificates || undefined,
    caCrl: tls.caCrl || undefined,
    credentialNames,
    subjectAltNames: tls.subjectAltNames ?? [],
    verifyCertificateHash: (tls.verifyCertificateHash ?? []).map((hash) => hash.replaceAll(":", "").toLowerCase()),
    verifyCertificateSpki: tls.verifyCertificateSpki ?? [],
    minVersion: versionNames[tls.minProtocolVersion ?? ""] ?? "TLSv1.2",
    maxVersion: versionNames[tls.maxProtocolVersion ?? ""] ?? "TLSv1.3",
    // BoringSSL's equal-preference groups `[A|B]` become plain entries: OpenSSL has no such groups.
    cipherSuites: (tls.cipherSuites ?? []).join(":").replace(/[[\]]/g, "").replaceAll("|", ":"),
  };
}

/** `ns/host`, `./host`, `*\/host` → `host`, lowercase. */
function hostPart(host: string): string {
  const slash = host.indexOf("/");
  return (slash < 0 ? host : host.slice(slash + 1)).toLowerCase();
}

/** Whether a server host pattern (`*`, `*.example.com`, exact) admits `authority` (port stripped, lowercase). */
export function serverAdmitsHost(hosts: readonly string[], authority: string): boolean {
  const colon = authority.lastIndexOf(":");
  const host = (colon > 0 && authority.lastIndexOf("]") < colon ? authority.slice(0, colon) : authority).toLowerCase();
  for (const pattern of hosts) {
    if (pattern === "*" || pattern === host) return true;
    if (pattern.startsWith("*.") && host.endsWith(pattern.slice(1))) return true;
  }
  return false;
}

/**
 * The server whose TLS a connection with SNI `serverName` gets, as Envoy matches filter chains: a
 * server listing the name exactly, else the one with the longest matching `*.` suffix, else one
 * listing `*` (also the only match without SNI). -1: none — the handshake is refused.
 */
export function serverForSni(servers: readonly GatewayServer[], serverName: string): number {
  const name = serverName.toLowerCase();
  let best = -1;
  let bestRank = 0;
  servers.forEach((server, index) => {
    for (const pattern of server.hosts) {
      let rank = 0;
      if (pattern === "*") rank = 1;
      else if (name === "") continue;
      else if (pattern === name) rank = Number.MAX_SAFE_INTEGER;
      else if (pattern.startsWith("*.") && name.endsWith(pattern.slice(1))) rank = 1 + pattern.length;
      if (rank > bestRank) {
        best = index;
        bestRank = rank;
      }
    }
  });
  return best;
}

/** The cluster an AUTO_PASSTHROUGH connection asks for by its SNI (`outbound_.<port>_.<subset>_.<host>`), or undefined. */
export function clusterOfSni(sni: string): { readonly cluster: string; readonly host: string } | undefined {
  const match = /^outbound_\.(\d{1,5})_\.([^_]*)_\.(.+)$/.exec(sni.toLowerCase());
  if (!match) return undefined;
  const [, port, subset, host] = match as unknown as [string, string, string, string];
  return { cluster: `outbound|${port}|${subset}|${host}`, host };
}
