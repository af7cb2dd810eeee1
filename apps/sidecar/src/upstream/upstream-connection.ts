// One pooled connection to an upstream endpoint. It belongs to at most one exchange at a time
// (HTTP/1.1 carries one request at a time; we never pipeline upstream), and sits idle in its
// endpoint's pool between exchanges, closed by the pool's idle timeout or by the peer.
import { connect, type Socket } from "node:net";
import { isTlsSocket } from "../lazy-builtins.ts";
import type { UpstreamTls } from "../tls/upstream-tls.ts";
import { ReadBuffer, readBufferSize, smallReadBufferSize, writeRead } from "./read-buffer.ts";
import { localAddressOf } from "../proxy/socket-address.ts";

/** What an exchange that holds the connection hears from it. */
export interface UpstreamHandler {
  /**
   * Bytes read from the upstream. They may be a view of the connection's read buffer, which the
   * next read overwrites: a handler copies what it keeps after returning, or writes them
   * on with `UpstreamConnection.forwardTo`.
   */
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
  /** When the connection last went back to its pool (performance.now() ms), for the idle timeout. */
  idleSinceMs = 0;
  private readonly owner: ConnectionOwner;
  private readonly reads: ReadBuffer | undefined;
  /** `ip:port` of this end, once asked (access logs' upstream_local_address). */
  private local: string | undefined;
  /** Whether reading is paused (`pauseReading`). */
  private paused = false;
  /** The client of a tunnel this connection feeds (plain-text connections; see `pipeTo`). */
  private tunnelClient: Socket | undefined;

  /** A plain-text connection to `host:port` (or the Unix socket of a `unix:///path` host, as tcp-proxy.ts dials it), reading into a buffer of its own. */
  static connect(host: string, port: number, owner: ConnectionOwner): UpstreamConnection {
    const reads = new ReadBuffer(readBufferSize);
    const socket = host.startsWith("unix://") ? connect({ path: host.slice("unix://".length), onread: reads.onread }) : connect({ host, port, onread: reads.onread });
    return new UpstreamConnection(socket, owner, reads);
  }

  /** A TLS connection to `host:port` offering `alpn`, reading its decrypted bytes into a buffer of its own (tls.connect's `onread`). */
  static connectTls(tls: UpstreamTls, host: string, port: number, alpn: readonly string[], owner: ConnectionOwner): UpstreamConnection {
    const reads = new ReadBuffer(smallReadBufferSize);
    return new UpstreamConnection(tls.connect(host, port, alpn, reads.onread), owner, reads);
  }

  /** `ip:port` of this end of the connection (known once connected; read once, then kept). */
  get localAddress(): string {
    if (this.local === undefined && this.connected) this.local = localAddressOf(this.socket);
    return this.local ?? "";
  }

  constructor(socket: Socket, owner: ConnectionOwner, reads?: ReadBuffer) {
    this.socket = socket;
    this.owner = owner;
    this.reads = reads;
    socket.setNoDelay(true);
    // A TLS connection counts as connected once its handshake is done: a failed handshake (bad
    // certificate, secure naming) is a connection failure (503 UF), not a reset.
    this.onceConnected(() => {
      this.connected = true;
    });
    if (reads) reads.sink = (data) => this.deliver(data);
    else socket.on("data", (data: Buffer) => this.deliver(data));
    socket.on("drain", () => this.handler?.onUpstreamDrain());
    let failure: Error | undefined;
    socket.on("error", (error) => {
      failure = error;
    });
    socket.on("close", () => {
      this.closed = true;
      const handler = this.handler;
      this.handler = undefined;
      if (reads) reads.sink = undefined;
      this.owner.onClosed(this);
      handler?.onUpstreamClose(failure ?? (this.connected ? undefined : new Error("connection closed before connect")));
    });
  }

  /** Calls `callback` once the connection is connected (a TLS connection: its handshake done); callers after the constructor find `connected` set. */
  onceConnected(callback: () => void): void {
    this.socket.once(isTlsSocket(this.socket) ? "secureConnect" : "connect", callback);
  }

  /** Bytes read from the socket, for the exchange that holds the connection (or the client of a tunnel). */
  deliver(data: Buffer): void {
    if (this.handler) this.handler.onUpstreamData(data);
    else if (this.tunnelClient) {
      if (!this.forwardTo(this.tunnelClient, data)) this.pauseReading();
    } else this.socket.destroy(); // bytes while idle: the peer broke the protocol; never reuse
  }

  /** Stops reading from the upstream (the client's buffer is full) until `resumeReading`. */
  pauseReading(): void {
    if (this.paused) return;
    this.paused = true;
    this.socket.pause();
  }

  /** Reads again after `pauseReading`; nothing to do (no call into the stream) when not paused. */
  resumeReading(): void {
    if (!this.paused) return;
    this.paused = false;
    this.socket.resume();
  }

  /** Writes `data` — bytes of the current read — to `target` so that no later read changes what it sends (`writeRead`); false: wait for its drain. */
  forwardTo(target: Socket, data: Buffer): boolean {
    return this.reads === undefined ? target.write(data) : writeRead(target, data, this.reads);
  }

  /**
   * The connection becomes the upstream half of a byte tunnel (101 Switching Protocols): what it
   * reads goes to `client` with backpressure, its end ends `client` (what `pipe` does).
   */
  pipeTo(client: Socket): void {
    this.handler = undefined;
    const socket = this.socket;
    if (this.reads === undefined) {
      socket.removeAllListeners("data");
      socket.pipe(client);
      return;
    }
    this.tunnelClient = client;
    client.on("drain", () => this.resumeReading());
    socket.once("end", () => client.end());
  }

  /** Whether the connection can take a request now. */
  get usable(): boolean {
    return !this.closed && this.socket.writable;
  }
}
