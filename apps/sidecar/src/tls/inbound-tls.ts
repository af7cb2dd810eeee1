// Server side of mutual TLS on the inbound listener, per the effective PeerAuthentication mode of
// the port: STRICT = TLS with a client SVID verified against the trust bundle (X.509-SVID
// profile, its own trust domain's root, validity); PERMISSIVE = TLS or plain text on the same
// port, told apart by the first byte (0x16, a TLS handshake record); DISABLE = plain text. The
// verified peer identity goes with the connection (authorization, telemetry).
import type { Socket } from "node:net";
import type { Server, TLSSocket } from "node:tls";
import type { MtlsMode } from "@meshwork/proxy-core";
import type { Logger } from "@meshwork/telemetry";
import { HandshakeWaiters } from "./handshake-waiters.ts";
import type { MeshTls } from "./mesh-tls.ts";

/** Connection-level security of a downstream connection, as authorization and telemetry read it. */
export interface DownstreamSecurity {
  /**
   * The client's SPIFFE ID, verified (`spiffe://cluster.local/ns/x/sa/y`). On a gateway's MUTUAL or
   * OPTIONAL_MUTUAL server, the verified certificate's name as Envoy's RBAC reads it (certificate-principal.ts),
   * which need not be a SPIFFE ID.
   */
  readonly peerSpiffeId: string;
  /** Istio's `source.principal`: the SPIFFE ID without `spiffe://` (`cluster.local/ns/x/sa/y`). */
  readonly peerPrincipal: string;
  /** `TLSv1.3` or `TLSv1.2`. */
  readonly tlsVersion: string;
  /** ALPN protocol negotiated (`h2`, `http/1.1`) or "" when none. */
  readonly alpn: string;
  /** The SNI the client sent ("" or undefined when none): a client sidecar's `outbound_.<port>_.<subset>_.<host>` names the port it is for. */
  readonly serverName?: string | undefined;
}

/** Counters of the inbound TLS (admin `/stats`: `listener.inbound.ssl.*`). */
export interface InboundTlsStats {
  handshakes: number;
  /** Connections refused: plain text on a STRICT port, handshake errors, certificates refused. */
  refused: number;
  plaintext: number;
}

/**
 * Hands a connection to the HTTP listener: the socket to speak HTTP on, its mutual-TLS security
 * (undefined = none) and, for TLS a gateway terminated, the client's SNI ("" when it sent none).
 */
export type Serve = (socket: Socket, security: DownstreamSecurity | undefined, serverName?: string) => void;

/** What terminates TLS on an HTTP listener: the mesh's mutual TLS (InboundTls) or a gateway's (GatewayTls). */
export interface TlsAcceptor {
  accept(socket: Socket, serve: Serve): void;
}

/** Time a client gets to send its first bytes (PERMISSIVE) or complete the TLS handshake. */
export const handshakeTimeoutMs = 10_000;

/** TLS record content type `handshake` (RFC 8446 §5.1): the first byte of every ClientHello. */
const tlsHandshakeRecord = 0x16;

export class InboundTls implements TlsAcceptor {
  readonly stats: InboundTlsStats = { handshakes: 0, refused: 0, plaintext: 0 };
  private readonly mesh: MeshTls;
  private readonly mode: () => MtlsMode;
  private readonly logger: Logger;
  /** `serve` callbacks of connections in their handshake. */
  private readonly waiting = new HandshakeWaiters<Serve>();
  private handling = false;

  /** `mode` is read for every new connection (the effective mode of the listener's port under the current config). */
  constructor(mesh: MeshTls, mode: () => MtlsMode, logger: Logger) {
    this.mesh = mesh;
    this.mode = mode;
    this.logger = logger;
  }

  /** The mesh's TLS server, with this listener's handlers on it from the first TLS connection on (node:tls loads then). */
  private tlsServer(): Server {
    const server = this.mesh.server;
    if (!this.handling) {
      this.handling = true;
      server.on("secureConnection", (socket: TLSSocket) => this.onSecure(socket));
      server.on("tlsClientError", (error: Error & { code?: string }, socket: TLSSocket) => {
        this.refuse(`tls_handshake_failed:${error.code ?? error.message}`, socket);
      });
    }
    return server;
  }

  /** Takes a new connection: calls `serve` with the socket to speak HTTP on (the TLS socket, or the raw one for plain text) and its security. */
  accept(socket: Socket, serve: Serve): void {
    this.acceptAs(socket, this.mode(), serve);
  }

  /**
   * The acceptor of another HTTP listener of the workload (a per-port inbound listener) under that
   * port's mode (read per connection): the same TLS server, handshakes and counters as this one.
   */
  forPort(mode: () => MtlsMode): TlsAcceptor {
    return { accept: (socket, serve) => this.acceptAs(socket, mode(), serve) };
  }

  private acceptAs(socket: Socket, mode: MtlsMode, serve: Serve): void {
    if (mode === "DISABLE") {
      this.stats.plaintext += 1;
      serve(socket, undefined);
      return;
    }
    if (!this.mesh.canServe) {
      if (mode === "STRICT") {
        this.logger.warn("STRICT mutual TLS but the sidecar has no certificate (--cert-dir or --ca-address): connection refused");
        this.stats.refused += 1;
        socket.destroy();
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
    // PERMISSIVE: look at the first byte, then give the bytes back to whoever reads next. A client
    // that sends nothing is closed after the handshake timeout (slowloris before any protocol).
    const onSilent = (): void => {
      socket.destroy();
    };
    socket.setTimeout(handshakeTimeoutMs, onSilent);
    socket.once("data", (chunk: Buffer) => {
      socket.setTimeout(0);
      socket.off("timeout", onSilent);
      socket.pause();
      socket.unshift(chunk);
      if (chunk[0] === tlsHandshakeRecord) {
        this.handshake(socket, serve);
      } else {
        this.stats.plaintext += 1;
        serve(socket, undefined);
        socket.resume();
      }
    });
    socket.on("error", () => undefined);
  }

  private handshake(socket: Socket, serve: Serve): void {
    this.waiting.add(socket, serve);
    this.tlsServer().emit("connection", socket);
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
    serve(socket, client.security);
  }

  private refuse(reason: string, socket: TLSSocket | Socket | undefined): void {
    this.stats.refused += 1;
    if (socket) this.waiting.take(socket);
    this.logger.debug("inbound connection refused", { reason, remote: socket?.remoteAddress ?? "" });
    socket?.destroy();
  }
}
