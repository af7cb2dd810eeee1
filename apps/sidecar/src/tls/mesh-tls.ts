// The sidecar's TLS state shared by listeners and upstream pools: the current identity, the
// node:tls server that terminates inbound mutual TLS (its context swapped with setSecureContext
// on rotation: new handshakes get the new certificate, open connections keep theirs), and client
// contexts for upstream connections, rebuilt when the identity changes (new connections only).
import { randomBytes } from "node:crypto";
import { readFileSync } from "node:fs";
import { createSecureContext, createServer, type SecureContext, type SecureVersion, type Server, type TLSSocket } from "node:tls";
import type { Logger } from "@meshwork/telemetry";
import { handshakeTimeoutMs } from "./inbound-tls.ts";
import type { IdentitySource, TlsIdentity } from "./tls-identity.ts";

/** TLS settings that do not depend on the identity. */
export interface MeshTlsSettings {
  /** Lowest protocol version accepted and offered: TLS 1.3 by default, 1.2 when allowed. */
  readonly minVersion: SecureVersion;
  readonly trustDomain: string;
}

/** File-based client material of a DestinationRule SIMPLE / MUTUAL `tls`. */
export interface FileTlsMaterial {
  readonly caCertificates: string | undefined;
  readonly clientCertificate: string | undefined;
  readonly privateKey: string | undefined;
}

export class MeshTls {
  readonly settings: MeshTlsSettings;
  /** Terminates inbound TLS; sockets are handed to it with `emit("connection", socket)`. */
  readonly server: Server;
  private readonly source: IdentitySource | undefined;
  private readonly logger: Logger;
  private identity: TlsIdentity | undefined;
  private clientContext: SecureContext | undefined;
  private readonly fileContexts = new Map<string, SecureContext>();
  /** Shared by every server context so session tickets survive a certificate rotation. */
  private readonly ticketKeys = randomBytes(48);
  private readonly unsubscribe: () => void;
  /** Identity changes so far (rotations and bundle updates). */
  rotations = 0;

  constructor(source: IdentitySource | undefined, settings: MeshTlsSettings, logger: Logger) {
    this.source = source;
    this.settings = settings;
    this.logger = logger;
    this.identity = source?.current();
    this.server = createServer({
      ...this.serverContextOptions(),
      requestCert: true,
      // Verification is ours (verifyDownstreamPeer) so a refusal can be counted and logged with its reason.
      rejectUnauthorized: false,
      ALPNProtocols: ["h2", "http/1.1"],
      minVersion: settings.minVersion,
      ticketKeys: this.ticketKeys,
      handshakeTimeout: handshakeTimeoutMs,
    });
    this.unsubscribe = source?.onChange((identity) => this.update(identity)) ?? (() => undefined);
  }

  /** The identity now (undefined without an identity source or before the first certificate). */
  get current(): TlsIdentity | undefined {
    return this.identity;
  }

  /** The client context of ISTIO_MUTUAL connections: our SVID and the mesh roots; undefined without an identity. */
  istioClientContext(): SecureContext | undefined {
    const identity = this.identity;
    if (!identity) return undefined;
    this.clientContext ??= createSecureContext({ cert: identity.certPem, key: identity.keyPem, ca: identity.caPem, minVersion: this.settings.minVersion });
    return this.clientContext;
  }

  /**
   * The client context of a DestinationRule SIMPLE / MUTUAL `tls` (files read once per distinct
   * set of paths); an Error naming the file when one cannot be read. Without `caCertificates` the
   * system roots apply.
   */
  fileClientContext(material: FileTlsMaterial): SecureContext | Error {
    const key = `${material.caCertificates ?? ""}|${material.clientCertificate ?? ""}|${material.privateKey ?? ""}`;
    const cached = this.fileContexts.get(key);
    if (cached) return cached;
    const read = (path: string | undefined, field: string): string | undefined => {
      if (path === undefined) return undefined;
      try {
        return readFileSync(path, "utf8");
      } catch (error) {
        throw new Error(`DestinationRule tls.${field}: cannot read ${path} (${(error as NodeJS.ErrnoException).code ?? String(error)})`);
      }
    };
    try {
      const ca = read(material.caCertificates, "caCertificates");
      const cert = read(material.clientCertificate, "clientCertificate");
      const privateKey = read(material.privateKey, "privateKey");
      const context = createSecureContext({
        ...(ca !== undefined ? { ca } : {}),
        ...(cert !== undefined ? { cert } : {}),
        ...(privateKey !== undefined ? { key: privateKey } : {}),
        minVersion: "TLSv1.2",
      });
      this.fileContexts.set(key, context);
      return context;
    } catch (error) {
      return error instanceof Error ? error : new Error(String(error));
    }
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
    this.rotations += 1;
    this.server.setSecureContext({ ...this.serverContextOptions(), minVersion: this.settings.minVersion, ticketKeys: this.ticketKeys });
    this.logger.info("TLS identity updated", { spiffeId: identity.spiffeId, serial: identity.serialHex, notAfter: identity.notAfter.toISOString() });
  }

  private serverContextOptions(): { cert?: string; key?: string; ca?: string } {
    const identity = this.identity;
    return identity ? { cert: identity.certPem, key: identity.keyPem, ca: identity.caPem } : {};
  }
}

/** The negotiated version as Envoy names it in `%DOWNSTREAM_TLS_VERSION%` (TLSv1.3). */
export function tlsVersionOf(socket: TLSSocket): string {
  return socket.getProtocol() ?? "";
}
