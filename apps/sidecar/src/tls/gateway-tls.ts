// TLS termination on a gateway port (router mode: HTTPS servers of a Gateway, whose connections
// then serve HTTP, and TLS servers that terminate, whose decrypted bytes a TcpListener proxies):
// each server's certificate comes from files or from a credential (`--credential-dir`,
// credential-files.ts).
// The SNI picks the server as Envoy picks a filter chain (serverForSni); a name no server lists is
// refused during the handshake. MUTUAL asks for a client certificate and refuses connections
// without a valid one, OPTIONAL_MUTUAL checks one if sent; subjectAltNames /
// verifyCertificateHash / verifyCertificateSpki narrow the accepted ones. ISTIO_MUTUAL serves the
// gateway's own SVID and admits clients whose SVIDs the mesh's mutual TLS admits (MeshTls). A
// verified client certificate goes with the connection as its security (AuthorizationPolicy's
// source.principal); SIMPLE connections have none.
// Files are read when a server's settings change and when the files change on disk (checked every
// few seconds): new handshakes get the new certificate, open connections keep theirs. A
// certificate that cannot be loaded is logged with its file and the fix; the server's last good
// one keeps serving.
import { readFileSync } from "node:fs";
import type { Socket } from "node:net";
import { join } from "node:path";
import type { PeerCertificate, SecureContext, Server, TLSSocket } from "node:tls";
import { serverForSni, type GatewayServer, type GatewayServerTls } from "@meshwork/proxy-core";
import type { Logger } from "@meshwork/telemetry";
import { newTicketKeys, nodeCrypto, nodeTls } from "../lazy-builtins.ts";
import { findCredentialFiles, stampOf, stampsChanged, type Stamps } from "./credential-files.ts";
import { HandshakeWaiters } from "./handshake-waiters.ts";
import { certificatePrincipal } from "./certificate-principal.ts";
import { handshakeTimeoutMs, type DownstreamSecurity, type Serve } from "./inbound-tls.ts";
import type { MeshTls } from "./mesh-tls.ts";

/** How often certificate files are checked for changes. */
const fileCheckMs = 5_000;

/** Counters of a gateway port's TLS (admin `/stats`: `listener.gateway-<port>.ssl.*`). */
export interface GatewayTlsStats {
  handshakes: number;
  /** Connections refused: handshake errors, an SNI no server lists, client certificates refused. */
  refused: number;
}

/** Reads `path`, noting its stamp; throws an Error naming what it is and the file. */
type Reader = (path: string, what: string) => string;

export class GatewayTls {
  readonly stats: GatewayTlsStats = { handshakes: 0, refused: 0 };
  private servers: readonly GatewayServer[] = [];
  /** Per server (same index as `servers`): the last context that loaded, if any. */
  private contexts: (SecureContext | undefined)[] = [];
  /** Per server: the files its material was last read from (none for ISTIO_MUTUAL). */
  private stamps: Stamps[] = [];
  private readonly credentialDir: string | undefined;
  private readonly mesh: MeshTls;
  private readonly logger: Logger;
  private readonly where: string;
  private tlsServer: Server | undefined;
  private readonly ticketKeys = newTicketKeys();
  private readonly waiting = new HandshakeWaiters<Serve>();
  private readonly timer: NodeJS.Timeout;

  constructor(servers: readonly GatewayServer[], options: { readonly credentialDir: string | undefined; readonly mesh: MeshTls; readonly logger: Logger; readonly port: number }) {
    this.credentialDir = options.credentialDir;
    this.mesh = options.mesh;
    this.logger = options.logger;
    this.where = `gateway port ${options.port}`;
    this.update(servers);
    this.timer = setInterval(() => this.reloadChanged(), fileCheckMs);
    this.timer.unref();
  }

  /**
   * A new config's servers for this port. A server whose settings and files are as before keeps
   * its context (pushes that change other things read nothing); the others load their material
   * (one that fails keeps its last good context).
   */
  update(servers: readonly GatewayServer[]): void {
    const previous = new Map(this.servers.map((server, index) => [serverKey(server), { context: this.contexts[index], stamps: this.stamps[index] }]));
    const stamps: Stamps[] = [];
    this.contexts = servers.map((server, index) => {
      const before = previous.get(serverKey(server));
      if (before?.stamps && !stampsChanged(before.stamps)) {
        stamps[index] = before.stamps;
        return before.context;
      }
      return this.load(server, stamps, index, before?.context);
    });
    this.servers = servers;
    this.stamps = stamps;
  }

  /** Stops watching the files. */
  close(): void {
    clearInterval(this.timer);
  }

  /** Takes a new connection: the handshake, then `serve` with the TLS socket and its SNI ("" without one). */
  accept(socket: Socket, serve: Serve): void {
    this.waiting.add(socket, serve);
    this.server().emit("connection", socket);
  }

  private server(): Server {
    if (this.tlsServer) return this.tlsServer;
    // The callback's `this` is the connection's TLS socket (contextFor sets its verify mode).
    const pick = (serverName: string, socket: unknown): SecureContext | Error => {
      const index = serverForSni(this.servers, serverName);
      const context = index < 0 ? undefined : this.contextFor(index, socket);
      return context ?? new Error(index < 0 ? `no server for SNI ${serverName}` : `no certificate loaded for SNI ${serverName}`);
    };
    const server = nodeTls().createServer({
      // Without SNI (or before the callback), a context without a certificate: the handshake fails
      // unless a server listing `*` is chosen below.
      secureContext: nodeTls().createSecureContext({}),
      SNICallback(this: unknown, serverName, done) {
        const picked = pick(serverName, this);
        if (picked instanceof Error) done(picked);
        else done(null, picked);
      },
      // Node computes `authorized` only with requestCert; SIMPLE servers switch the request off per connection.
      requestCert: true,
      rejectUnauthorized: false,
      ALPNProtocols: ["h2", "http/1.1"],
      ticketKeys: this.ticketKeys,
      handshakeTimeout: handshakeTimeoutMs,
    });
    server.on("secureConnection", (socket: TLSSocket) => this.onSecure(socket));
    server.on("tlsClientError", (error: Error & { code?: string }, socket: TLSSocket) => this.refuse(`tls_handshake_failed:${error.code ?? error.message}`, socket));
    this.tlsServer = server;
    return server;
  }

  /**
   * The context of server `index`. A SIMPLE server's connection asks for no client certificate
   * (OpenSSL takes the verify mode until its first flight, which follows SNI); where Node's handle
   * does not offer that, every connection of the port is asked, and SIMPLE ignores the answer.
   */
  private contextFor(index: number, socket: unknown): SecureContext | undefined {
    const server = this.servers[index];
    const context = server?.tls?.mode === "ISTIO_MUTUAL" ? this.mesh.serverSecureContext() : this.contexts[index];
    if (!server?.tls || !context) return undefined;
    if (server.tls.mode === "SIMPLE") (socket as { _handle?: { setVerifyMode?(request: boolean, reject: boolean): void } })._handle?.setVerifyMode?.(false, false);
    return context;
  }

  private onSecure(socket: TLSSocket): void {
    const serve = this.waiting.take(socket);
    if (!serve) {
      socket.destroy();
      return;
    }
    const serverName = typeof socket.servername === "string" ? socket.servername : "";
    const tls = this.servers[serverForSni(this.servers, serverName)]?.tls;
    if (!tls) {
      this.refuse(`no_server_for_sni:${serverName}`, socket);
      return;
    }
    if (tls.mode === "ISTIO_MUTUAL") {
      const client = this.mesh.clientSecurity(socket);
      if (!client.ok) {
        this.refuse(client.reason, socket);
        return;
      }
      this.stats.handshakes += 1;
      serve(socket, client.security, serverName);
      return;
    }
    const refusal = tls.mode === "SIMPLE" ? undefined : clientRefusal(socket, tls);
    if (refusal !== undefined) {
      this.refuse(`client_certificate_refused:${refusal}`, socket);
      return;
    }
    this.stats.handshakes += 1;
    // A verified client certificate is the connection's source.principal (AuthorizationPolicy);
    // a SIMPLE server asks for none, so its connections have no principal even if one was sent.
    serve(socket, tls.mode === "SIMPLE" ? undefined : verifiedClient(socket), serverName);
  }

  private refuse(reason: string, socket: TLSSocket | undefined): void {
    this.stats.refused += 1;
    if (socket) this.waiting.take(socket);
    socket?.destroy();
    this.logger.debug("gateway TLS connection refused", { where: this.where, reason, remote: socket?.remoteAddress ?? "" });
  }

  /** Loads `server`'s material, noting what it read in `stampsOf[index]`; on failure logs why and keeps `previous`. */
  private load(server: GatewayServer, stampsOf: Stamps[], index: number, previous: SecureContext | undefined): SecureContext | undefined {
    const tls = server.tls;
    if (!tls || tls.mode === "ISTIO_MUTUAL") return undefined;
    const stamps: Stamps = new Map();
    stampsOf[index] = stamps;
    const read: Reader = (path, what) => {
      stamps.set(path, stampOf(path));
      try {
        return readFileSync(path, "utf8");
      } catch (error) {
        throw new Error(`${what}: cannot read ${path} (${(error as NodeJS.ErrnoException).code ?? String(error)})`);
      }
    };
    try {
      const material = tls.credentialNames.length > 0 ? this.credentialMaterial(tls, read, stamps) : fileMaterial(tls, read);
      return nodeTls().createSecureContext({
        cert: material.certs,
        key: material.keys,
        ...(material.ca !== undefined ? { ca: material.ca } : {}),
        ...(material.crl !== undefined ? { crl: material.crl } : {}),
        minVersion: tls.minVersion,
        maxVersion: tls.maxVersion,
        ...(tls.cipherSuites !== "" ? { ciphers: tls.cipherSuites } : {}),
        // Resumption needs a session context once clients are verified; tickets outlive reloads.
        sessionIdContext: nodeCrypto().createHash("sha256").update(`${server.gateway}/${server.server}`).digest("hex").slice(0, 32),
        ticketKeys: this.ticketKeys,
      });
    } catch (error) {
      this.logger.error("gateway server certificate not loaded", {
        where: `${this.where}: Gateway ${server.gateway} servers[${server.server}]`,
        detail: error instanceof Error ? error.message : String(error),
        fix: "fix the files or the credential's secret; they are read again when they change",
        serving: previous ? "the last good certificate" : "nothing: handshakes for this server are refused",
      });
      return previous;
    }
  }

  /** Material of `credentialNames` from the credential directory. */
  private credentialMaterial(tls: GatewayServerTls, read: Reader, stamps: Stamps): Material {
    const dir = this.credentialDir;
    if (dir === undefined) throw new Error(`credentialName ${tls.credentialNames.join(", ")}: no --credential-dir; mount the secret's files (tls.crt, tls.key, ca.crt) under DIR/<name> and start the gateway with --credential-dir DIR`);
    const certs: string[] = [];
    const keys: string[] = [];
    let { ca, crl } = explicitCaAndCrl(tls, read);
    for (const name of tls.credentialNames) {
      const files = findCredentialFiles(dir, name, stamps);
      certs.push(read(files.cert ?? join(dir, name, "tls.crt"), `credential ${name} certificate`));
      keys.push(read(files.key ?? join(dir, name, "tls.key"), `credential ${name} private key`));
      if (ca === undefined && tls.mode !== "SIMPLE" && files.ca !== undefined) ca = read(files.ca, `credential ${name} CA certificates`);
      if (crl === undefined && files.crl !== undefined) crl = read(files.crl, `credential ${name} revocation list`);
    }
    if (ca === undefined && tls.mode !== "SIMPLE") throw new Error(`credential ${tls.credentialNames[0]}: mode ${tls.mode} needs CA certificates (ca.crt in the secret, or a secret ${tls.credentialNames[0]}-cacert)`);
    return { certs, keys, ca, crl };
  }

  /** Re-loads the servers whose files changed on disk (or appeared). */
  private reloadChanged(): void {
    this.servers.forEach((server, index) => {
      const stamps = this.stamps[index];
      if (!server.tls || !stamps || !stampsChanged(stamps)) return;
      const before = this.contexts[index];
      this.contexts[index] = this.load(server, this.stamps, index, before);
      if (this.contexts[index] !== before) this.logger.info("gateway server certificate loaded", { where: `${this.where}: Gateway ${server.gateway} servers[${server.server}]` });
    });
  }
}

interface Material {
  readonly certs: string[];
  readonly keys: string[];
  readonly ca: string | undefined;
  readonly crl: string | undefined;
}

/** The server's own `caCertificates` and `caCrl` files, each read when set (they take precedence over a credential's). */
function explicitCaAndCrl(tls: GatewayServerTls, read: Reader): { ca: string | undefined; crl: string | undefined } {
  return {
    ca: tls.caCertificates !== undefined ? read(tls.caCertificates, "tls.caCertificates") : undefined,
    crl: tls.caCrl !== undefined ? read(tls.caCrl, "tls.caCrl") : undefined,
  };
}

function fileMaterial(tls: GatewayServerTls, read: Reader): Material {
  const { ca, crl } = explicitCaAndCrl(tls, read);
  if (ca === undefined && tls.mode !== "SIMPLE") throw new Error(`tls.caCertificates: mode ${tls.mode} needs CA certificates to verify clients`);
  return {
    certs: tls.certificates.map((pair) => read(pair.certificate, "tls.serverCertificate")),
    keys: tls.certificates.map((pair) => read(pair.privateKey, "tls.privateKey")),
    ca,
    crl,
  };
}

/** A server's identity across configs: its Gateway, index and TLS settings. */
function serverKey(server: GatewayServer): string {
  return `${server.gateway}/${server.server}/${JSON.stringify(server.tls)}`;
}

/** Why a client of a MUTUAL / OPTIONAL_MUTUAL server is refused, or undefined when it is accepted. */
function clientRefusal(socket: TLSSocket, tls: GatewayServerTls): string | undefined {
  const cert = socket.getPeerCertificate();
  const presented = cert !== null && typeof cert === "object" && Object.keys(cert).length > 0;
  if (!presented) return tls.mode === "MUTUAL" ? "no certificate" : undefined;
  if (!socket.authorized) return String(socket.authorizationError ?? "not verified");
  return certificateRefusal(cert, tls);
}

/** The security of a connection whose client certificate was verified (clientRefusal accepted it); undefined when none was sent. */
function verifiedClient(socket: TLSSocket): DownstreamSecurity | undefined {
  if (!socket.authorized) return undefined;
  const identity = certificatePrincipal(socket.getPeerCertificate());
  if (identity === undefined) return undefined;
  return { peerSpiffeId: identity.name, peerPrincipal: identity.principal, tlsVersion: socket.getProtocol() ?? "", alpn: socket.alpnProtocol || "" };
}

/** The subjectAltNames / verifyCertificateHash / verifyCertificateSpki checks of a verified client certificate. */
export function certificateRefusal(cert: Pick<PeerCertificate, "subjectaltname" | "fingerprint256" | "raw">, tls: GatewayServerTls): string | undefined {
  if (tls.subjectAltNames.length > 0) {
    const names = (cert.subjectaltname ?? "").split(", ").map((entry) => entry.slice(entry.indexOf(":") + 1));
    if (!tls.subjectAltNames.some((wanted) => names.includes(wanted))) return "subject alternative names not accepted";
  }
  if (tls.verifyCertificateHash.length > 0 && !tls.verifyCertificateHash.includes(cert.fingerprint256.replaceAll(":", "").toLowerCase())) return "certificate hash not accepted";
  if (tls.verifyCertificateSpki.length > 0) {
    const crypto = nodeCrypto();
    const spki = new crypto.X509Certificate(cert.raw).publicKey.export({ type: "spki", format: "der" });
    if (!tls.verifyCertificateSpki.includes(crypto.createHash("sha256").update(spki).digest("base64"))) return "certificate SPKI not accepted";
  }
  return undefined;
}
