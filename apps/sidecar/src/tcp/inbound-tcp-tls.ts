// Mutual TLS on the inbound TCP listeners, per the PeerAuthentication mode of each port (as the
// HTTP inbound listener's InboundTls): STRICT = TLS with a client SVID verified against the trust
// bundle; PERMISSIVE = TLS or plain text told apart by the first byte (0x16, a TLS handshake
// record; the byte is put back so plain-text protocols see it); DISABLE = plain text. The TLS is
// terminated here and the application gets the plain bytes, as Envoy does for Istio's inbound
// TCP filter chains. A node:tls server of its own (not the HTTP listener's), so the two never
// see each other's handshakes; its context follows the mesh identity (checked per connection).
import type { Socket } from "node:net";
import type { Server, TLSSocket } from "node:tls";
import type { MtlsMode } from "@meshwork/proxy-core";
import type { Logger } from "@meshwork/telemetry";
import { handshakeTimeoutMs, type DownstreamSecurity, type InboundTlsStats } from "../tls/inbound-tls.ts";
import { HandshakeWaiters } from "../tls/handshake-waiters.ts";
import type { MeshTls } from "../tls/mesh-tls.ts";
import { newTicketKeys, nodeTls } from "../lazy-builtins.ts";
import type { TlsIdentity } from "../tls/tls-identity.ts";

/** Called with the socket to proxy (TLS or raw) and its security (undefined = plain text). */
export type ServeTcp = (socket: Socket, security: DownstreamSecurity | undefined) => void;

const tlsHandshakeRecord = 0x16;

export class InboundTcpTls {
  readonly stats: InboundTlsStats = { handshakes: 0, refused: 0, plaintext: 0 };
  private readonly mesh: MeshTls;
  private readonly logger: Logger;
  private server: Server | undefined;
  private serverIdentity: TlsIdentity | undefined;
  private ticketKeys: Buffer | undefined;
  private readonly waiting = new HandshakeWaiters<ServeTcp>();

  constructor(mesh: MeshTls, logger: Logger) {
    this.mesh = mesh;
    this.logger = logger;
  }

  /** Takes a new (paused) connection under `mode`; `serve` gets the socket to proxy, or is never called when the connection is refused. */
  accept(socket: Socket, mode: MtlsMode, serve: ServeTcp): void {
    socket.on("error", () => undefined);
    if (mode === "DISABLE") {
      this.stats.plaintext += 1;
      serve(socket, undefined);
      return;
    }
    if (!this.mesh.canServe) {
      if (mode === "STRICT") {
        this.logger.warn("STRICT mutual TLS on an inbound TCP port but the sidecar has no certificate (--cert-dir or --ca-address): connection refused");
        this.refuse("no_identity", socket);
        return;
      }
      this.stats.plaintext += 1;
      serve(socket, undefined);
      return;
    }
    if (mode === "STRICT") {
      this.handshake(socket, serve);
      return;
    }
    // PERMISSIVE. A client that sends nothing first (server-speaks-first protocols such as MySQL
    // or SMTP) is plain text: after a short wait the connection goes through as it is.
    let decided = false;
    const decide = (tls: boolean): void => {
      if (decided) return;
      decided = true;
      clearTimeout(timer);
      socket.off("data", onData);
      socket.pause();
      if (tls) this.handshake(socket, serve);
      else {
        this.stats.plaintext += 1;
        serve(socket, undefined);
      }
    };
    const onData = (chunk: Buffer): void => {
      socket.pause();
      socket.unshift(chunk);
      decide(chunk[0] === tlsHandshakeRecord);
    };
    const timer = setTimeout(() => decide(false), serverFirstWaitMs);
    socket.once("close", () => clearTimeout(timer));
    socket.on("data", onData);
    socket.resume();
  }

  private handshake(socket: Socket, serve: ServeTcp): void {
    const server = this.tlsServer();
    this.waiting.add(socket, serve);
    server.emit("connection", socket);
  }

  /** The TLS server, created on first use and re-keyed when the mesh identity changed. */
  private tlsServer(): Server {
    const identity = this.mesh.current;
    const context = identity ? { cert: identity.certPem, key: identity.keyPem, ca: identity.caPem } : {};
    if (!this.server) {
      this.ticketKeys = newTicketKeys();
      this.server = nodeTls().createServer({
        ...context,
        requestCert: true,
        rejectUnauthorized: false,
        minVersion: this.mesh.settings.minVersion,
        ticketKeys: this.ticketKeys,
        handshakeTimeout: handshakeTimeoutMs,
        allowHalfOpen: true,
      });
      this.server.on("secureConnection", (tls: TLSSocket) => this.onSecure(tls));
      this.server.on("tlsClientError", (error: Error & { code?: string }, tls: TLSSocket) => this.refuse(`tls_handshake_failed:${error.code ?? error.message}`, tls));
    } else if (identity !== this.serverIdentity) {
      this.server.setSecureContext({ ...context, minVersion: this.mesh.settings.minVersion, ticketKeys: this.ticketKeys });
    }
    this.serverIdentity = identity;
    return this.server;
  }

  private onSecure(socket: TLSSocket): void {
    const serve = this.waiting.take(socket);
    if (!serve) {
      socket.destroy();
      return;
    }
    this.stats.handshakes += 1;
    const client = this.mesh.clientSecurity(socket);
    if (!client.ok) {
      this.refuse(client.reason, socket);
      return;
    }
    socket.on("error", () => undefined);
    serve(socket, client.security);
  }

  private refuse(reason: string, socket: Socket): void {
    this.stats.refused += 1;
    this.waiting.take(socket);
    this.logger.debug("inbound TCP connection refused", { reason, remote: socket.remoteAddress ?? "" });
    socket.destroy();
  }
}

/**
 * How long PERMISSIVE waits for the client's first byte before treating the connection as plain
 * text (Envoy's tls_inspector waits without limit, which stalls server-first protocols; Istio
 * documents that server-first protocols need STRICT or DISABLE. Here they work after this wait).
 */
export const serverFirstWaitMs = 1_000;
