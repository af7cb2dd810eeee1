// The sidecar's TLS state shared by listeners and upstream pools: the current identity, the
// node:tls server that terminates inbound mutual TLS (its context swapped with setSecureContext
// on rotation: new handshakes get the new certificate, open connections keep theirs), and client
// contexts for upstream connections, rebuilt when the identity changes (new connections only).
import { readFileSync } from "node:fs";
import type { SecureContext, SecureVersion, Server, TLSSocket } from "node:tls";
import type { SvidVerification } from "@meshwork/pki";
import type { Logger } from "@meshwork/telemetry";
import { handshakeTimeoutMs, type DownstreamSecurity } from "./inbound-tls.ts";
import { newTicketKeys, nodeTls } from "../lazy-builtins.ts";
import { findCredentialFiles, type Stamps } from "./credential-files.ts";
import { pkiChecks } from "./pki-checks.ts";
import { principalOf } from "./principal-of.ts";
import type { IdentitySource, TlsIdentity } from "./tls-identity.ts";

/** Client leaves remembered for session resumption (a few per peer workload in a large mesh). */
const maxVerifiedLeaves = 10_000;

/** TLS settings that do not depend on the identity. */
export interface MeshTlsSettings {
  /** Lowest protocol version accepted and offered: TLS 1.3 by default, 1.2 when allowed. */
  readonly minVersion: SecureVersion;
  readonly trustDomain: string;
  /** Where a DestinationRule's `credentialName` is read (credential-files.ts); undefined = not configured. */
  readonly credentialDir?: string | undefined;
}

/** Client material of a DestinationRule SIMPLE / MUTUAL `tls`: files, or a credential (which replaces them, as in Istio). */
export interface FileTlsMaterial {
  readonly caCertificates: string | undefined;
  readonly clientCertificate: string | undefined;
  readonly privateKey: string | undefined;
  readonly credentialName?: string | undefined;
}

export class MeshTls {
  readonly settings: MeshTlsSettings;
  private tlsServer: Server | undefined;
  private readonly source: IdentitySource | undefined;
  private readonly logger: Logger;
  private identity: TlsIdentity | undefined;
  private clientContext: SecureContext | undefined;
  private serverContext: SecureContext | undefined;
  private readonly fileContexts = new Map<string, SecureContext>();
  /** Per credential name: the cache key of its current context (replaced when its files change). */
  private readonly credentialKeys = new Map<string, string>();
  /** SHA-256 fingerprints of client leaves that passed verifyClientChain in a full handshake. */
  private readonly verifiedLeaves = new Set<string>();
  /** Shared by every server context so session tickets survive a certificate rotation. */
  private ticketKeys: Buffer | undefined;
  private readonly unsubscribe: () => void;
  /** Identity changes so far (rotations and bundle updates). */
  rotations = 0;

  constructor(source: IdentitySource | undefined, settings: MeshTlsSettings, logger: Logger) {
    this.source = source;
    this.settings = settings;
    this.logger = logger;
    this.identity = source?.current();
    this.unsubscribe = source?.onChange((identity) => this.update(identity)) ?? (() => undefined);
  }

  /**
   * Terminates inbound TLS; sockets are handed to it with `emit("connection", socket)`. Made by the
   * first TLS connection (node:tls loads then: see node-tls.ts).
   */
  get server(): Server {
    this.tlsServer ??= nodeTls().createServer({
      ...this.serverContextOptions(),
      requestCert: true,
      // Verification is ours (verifyDownstreamPeer) so a refusal can be counted and logged with its reason.
      rejectUnauthorized: false,
      ALPNProtocols: ["h2", "http/1.1"],
      handshakeTimeout: handshakeTimeoutMs,
    });
    return this.tlsServer;
  }

  /** The identity now (undefined without an identity source or before the first certificate). */
  get current(): TlsIdentity | undefined {
    return this.identity;
  }

  /** The client context of ISTIO_MUTUAL connections: our SVID and the mesh roots; undefined without an identity. */
  istioClientContext(): SecureContext | undefined {
    const identity = this.identity;
    if (!identity) return undefined;
    this.clientContext ??= nodeTls().createSecureContext({ cert: identity.certPem, key: identity.keyPem, ca: identity.caPem, minVersion: this.settings.minVersion });
    return this.clientContext;
  }

  /**
   * The client context of a DestinationRule SIMPLE / MUTUAL `tls` (files read once per distinct
   * set of paths; a credential's files again when they change on disk); an Error naming the file
   * when one cannot be read. Without CA certificates the system roots apply.
   */
  fileClientContext(given: FileTlsMaterial): SecureContext | Error {
    const resolved = given.credentialName === undefined ? { material: given, version: "" } : this.credentialMaterial(given.credentialName);
    if (resolved instanceof Error) return resolved;
    const { material, version } = resolved;
    const key = `${material.caCertificates ?? ""}|${material.clientCertificate ?? ""}|${material.privateKey ?? ""}|${version}`;
    const cached = this.fileContexts.get(key);
    if (cached) return cached;
    const read = (path: string | undefined, field: string): string | undefined => {
      if (path === undefined) return undefined;
      try {
        return readFileSync(path, "utf8");
      } catch (error) {
        const what = given.credentialName === undefined ? `tls.${field}` : `tls.credentialName ${given.credentialName} (${field})`;
        throw new Error(`DestinationRule ${what}: cannot read ${path} (${(error as NodeJS.ErrnoException).code ?? String(error)})`);
      }
    };
    try {
      const ca = read(material.caCertificates, "caCertificates");
      const cert = read(material.clientCertificate, "clientCertificate");
      const privateKey = read(material.privateKey, "privateKey");
      const context = nodeTls().createSecureContext({
        ...(ca !== undefined ? { ca } : {}),
        ...(cert !== undefined ? { cert } : {}),
        ...(privateKey !== undefined ? { key: privateKey } : {}),
        minVersion: "TLSv1.2",
      });
      if (given.credentialName !== undefined) {
        // A rotated credential replaces its previous context.
        const previous = this.credentialKeys.get(given.credentialName);
        if (previous !== undefined) this.fileContexts.delete(previous);
        this.credentialKeys.set(given.credentialName, key);
      }
      this.fileContexts.set(key, context);
      return context;
    } catch (error) {
      return error instanceof Error ? error : new Error(String(error));
    }
  }

  /**
   * The files of credential `name` (the CA as caCertificates, tls.crt/tls.key as the client's) and
   * their version (the stamps of every path looked at), or why there are none.
   */
  private credentialMaterial(name: string): { readonly material: FileTlsMaterial; readonly version: string } | Error {
    const dir = this.settings.credentialDir;
    if (dir === undefined) return new Error(`DestinationRule tls.credentialName ${name}: no --credential-dir; mount the secret's files (tls.crt, tls.key, ca.crt) under DIR/${name} and start the proxy with --credential-dir DIR`);
    const stamps: Stamps = new Map();
    const files = findCredentialFiles(dir, name, stamps);
    if (files.cert === undefined && files.ca === undefined) return new Error(`DestinationRule tls.credentialName ${name}: no tls.crt or ca.crt under ${dir}/${name}`);
    return { material: { caCertificates: files.ca, clientCertificate: files.cert, privateKey: files.key }, version: [...stamps.values()].join(",") };
  }

  /**
   * The verified client of an inbound mTLS connection, or why it is refused (Envoy-style detail):
   * OpenSSL's verdict on its chain, then its SVID checked against the trust bundles. A resumed
   * session brings the leaf without its chain; it is accepted only if this leaf passed the full
   * check in an earlier handshake of this process (a session ticket is issued before our check,
   * so a client we refused holds one too).
   */
  clientSecurity(socket: TLSSocket): { readonly ok: true; readonly security: DownstreamSecurity } | { readonly ok: false; readonly reason: string } {
    if (!socket.authorized) return { ok: false, reason: `client_certificate_refused:${String(socket.authorizationError ?? "no certificate")}` };
    const peer = this.verifyClient(socket);
    if (!peer?.ok) return { ok: false, reason: `client_certificate_refused:${peer ? `${peer.reason}: ${peer.detail}` : "no identity"}` };
    return { ok: true, security: { peerSpiffeId: peer.spiffeId, peerPrincipal: principalOf(peer.spiffeId), tlsVersion: socket.getProtocol() ?? "", alpn: socket.alpnProtocol || "", serverName: serverNameOf(socket) } };
  }

  private verifyClient(socket: TLSSocket): SvidVerification | undefined {
    const identity = this.identity;
    const pki = pkiChecks();
    if (!identity || !pki) return undefined;
    const cert = socket.getPeerCertificate(true);
    const resumed = socket.isSessionReused() && this.verifiedLeaves.has(cert.fingerprint256);
    const peer = pki.verifyClientChain(cert, { bundles: identity.bundles, now: new Date(), resumed });
    if (peer.ok && !resumed) {
      // Bounded: the oldest entries go first (a client that comes back does a full handshake again).
      if (this.verifiedLeaves.size >= maxVerifiedLeaves) this.verifiedLeaves.delete(this.verifiedLeaves.values().next().value as string);
      this.verifiedLeaves.add(cert.fingerprint256);
    }
    return peer;
  }

  /**
   * A server context with the workload's SVID and the mesh roots (a gateway's ISTIO_MUTUAL
   * servers); undefined without an identity. Rebuilt when the identity changes.
   */
  serverSecureContext(): SecureContext | undefined {
    if (!this.identity) return undefined;
    this.serverContext ??= nodeTls().createSecureContext(this.serverContextOptions());
    return this.serverContext;
  }

  /** Whether inbound TLS can be terminated (an identity is loaded). */
  get canServe(): boolean {
    return this.identity !== undefined;
  }

  close(): void {
    this.unsubscribe();
    void this.source?.close();
  }

  private update(identity: TlsIdentity): void {
    this.identity = identity;
    this.clientContext = undefined;
    this.serverContext = undefined;
    this.rotations += 1;
    this.tlsServer?.setSecureContext(this.serverContextOptions());
    this.logger.info("TLS identity updated", { spiffeId: identity.spiffeId, serial: identity.serialHex, notAfter: identity.notAfter.toISOString() });
  }

  /** Server context options: the identity's SVID and roots, the lowest version, the shared ticket keys. */
  private serverContextOptions(): { cert?: string; key?: string; ca?: string; minVersion: SecureVersion; ticketKeys: Buffer } {
    const identity = this.identity;
    const material = identity ? { cert: identity.certPem, key: identity.keyPem, ca: identity.caPem } : {};
    return { ...material, minVersion: this.settings.minVersion, ticketKeys: (this.ticketKeys ??= newTicketKeys()) };
  }
}

/** The negotiated version as Envoy names it in `%DOWNSTREAM_TLS_VERSION%` (TLSv1.3). */
export function tlsVersionOf(socket: TLSSocket): string {
  return socket.getProtocol() ?? "";
}

/** The SNI a TLS client sent; "" when none (node:tls gives `false` then). */
function serverNameOf(socket: TLSSocket): string {
  const name: unknown = socket.servername;
  return typeof name === "string" ? name : "";
}
