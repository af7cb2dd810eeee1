// One pooled connection to an upstream endpoint. It belongs to at most one exchange at a time
// (HTTP/1.1 carries one request at a time; we never pipeline upstream), and sits idle in its
// endpoint's pool between exchanges, closed by the idle timeout or by the peer.
import type { Socket } from "node:net";
import { TLSSocket } from "node:tls";

function isTlsSocket(socket: Socket): boolean {
  return socket instanceof TLSSocket;
}

/** What an exchange that holds the connection hears from it. */
export interface UpstreamHandler {
  onUpstreamData(data: Buffer): void;
  /** The socket closed or failed; `error` is set for a connect failure or reset. */
  onUpstreamClose(error: Error | undefined): void;
  /** The socket's write buffer drained (for request-body backpressure). */
  onUpstreamDrain(): void;
}

export interface ConnectionOwner {
  /** Called once when the connection closes, whatever the reason. */
  onClosed(connection: UpstreamConnection): void;
}

export class UpstreamConnection {
  readonly socket: Socket;
  /** Requests sent on this connection so far (for maxRequestsPerConnection). */
  served = 0;
  connected = false;
  closed = false;
  handler: UpstreamHandler | undefined;
  private readonly owner: ConnectionOwner;

  constructor(socket: Socket, owner: ConnectionOwner) {
    this.socket = socket;
    this.owner = owner;
    socket.setNoDelay(true);
    // A TLS connection counts as connected once its handshake is done: a failed handshake (bad
    // certificate, secure naming) is a connection failure (503 UF), not a reset.
    socket.on(isTlsSocket(socket) ? "secureConnect" : "connect", () => {
      this.connected = true;
    });
    socket.on("data", (data: Buffer) => {
      if (this.handler) this.handler.onUpstreamData(data);
      else socket.destroy(); // bytes while idle: the peer broke the protocol; never reuse
    });
    socket.on("drain", () => this.handler?.onUpstreamDrain());
    socket.on("timeout", () => {
      if (!this.handler) socket.destroy(); // idle timeout; exchanges run their own timers
    });
    let failure: Error | undefined;
    socket.on("error", (error) => {
      failure = error;
    });
    socket.on("close", () => {
      this.closed = true;
      const handler = this.handler;
      this.handler = undefined;
      this.owner.onClosed(this);
      handler?.onUpstreamClose(failure ?? (this.connected ? undefined : new Error("connection closed before connect")));
    });
  }

  /** Whether the connection can take a request now. */
  get usable(): boolean {
    return !this.closed && this.socket.writable;
  }
}
