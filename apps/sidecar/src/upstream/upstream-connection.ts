// One pooled connection to an upstream endpoint. It belongs to at most one exchange at a time
// (HTTP/1.1 carries one request at a time; we never pipeline upstream), and sits idle in its
// endpoint's pool between exchanges, closed by the pool's idle timeout or by the peer.
import { connect, type Socket } from "node:net";
import { TLSSocket } from "node:tls";

function isTlsSocket(socket: Socket): boolean {
  return socket instanceof TLSSocket;
}

/** What an exchange that holds the connection hears from it. */
export interface UpstreamHandler {
  /**
   * Bytes read from the upstream. They may be a view of the connection's read buffer, which the
   * next read overwrites: a handler copies what it keeps after returning, or calls
   * `UpstreamConnection.keepReadBuffer()` when a write still refers to them.
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

/** Size of a plain-text connection's read buffer (Node's own read size). */
export const readBufferSize = 64 * 1024;

/**
 * The read buffer of a plain-text connection (net `onread`): every read lands in the same
 * buffer instead of a new Buffer per read, unless the bytes of the last read are still referred
 * to (the rest of a downstream write the kernel did not take at once) — then the next read gets
 * a fresh one.
 */
export class ReadBuffer {
  buffer: Buffer | undefined;
  kept = false;
  connection: UpstreamConnection | undefined;

  /** Node asks for the buffer of the next read when the socket opens and after every read. */
  readonly next = (): Buffer => {
    if (this.buffer === undefined || this.kept) {
      this.kept = false;
      this.buffer = Buffer.allocUnsafeSlow(readBufferSize);
    }
    return this.buffer;
  };

  /** The bytes of a read, in the buffer `next` gave; true = keep reading (pausing is the socket's `pause`). */
  readonly read = (length: number): boolean => {
    this.connection?.deliver((this.buffer as Buffer).subarray(0, length));
    return true;
  };
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
  /** Whether reading is paused (`pauseReading`). */
  private paused = false;
  /** The client of a tunnel this connection feeds (plain-text connections; see `pipeTo`). */
  private tunnelClient: Socket | undefined;

  /**
   * A plain-text connection to `host:port`, reading into a buffer of its own. (A TLS socket is
   * made by its own module and passed to the constructor: its reads are Buffers of their own.)
   */
  static connect(host: string, port: number, owner: ConnectionOwner): UpstreamConnection {
    const reads = new ReadBuffer();
    const socket = connect({ host, port, onread: { buffer: reads.next, callback: reads.read } });
    return new UpstreamConnection(socket, owner, reads);
  }

  constructor(socket: Socket, owner: ConnectionOwner, reads?: ReadBuffer) {
    this.socket = socket;
    this.owner = owner;
    this.reads = reads;
    socket.setNoDelay(true);
    // A TLS connection counts as connected once its handshake is done: a failed handshake (bad
    // certificate, secure naming) is a connection failure (503 UF), not a reset.
    socket.on(isTlsSocket(socket) ? "secureConnect" : "connect", () => {
      this.connected = true;
    });
    if (reads) reads.connection = this;
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
      if (reads) reads.connection = undefined;
      this.owner.onClosed(this);
      handler?.onUpstreamClose(failure ?? (this.connected ? undefined : new Error("connection closed before connect")));
    });
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

  /** The bytes of the current read stay referred to after it (a pending write): the next read goes into a fresh buffer. */
  keepReadBuffer(): void {
    if (this.reads) this.reads.kept = true;
  }

  /**
   * Writes `data` — bytes of the current read — to `target` without letting a later read change
   * what it sends. Behind bytes still queued, `target` would hold `data` until they are written: it
   * gets a copy of its own size instead. Otherwise it takes the bytes now (a TLS socket encrypts, so
   * copies, them), except what the kernel did not accept at once on a plain socket: for that rest,
   * the read buffer is kept and the next read goes into a fresh one. Returns `target.write`'s answer
   * (false: wait for its drain).
   */
  forwardTo(target: Socket, data: Buffer): boolean {
    if (target.writableLength > 0 || target.connecting) return target.write(Buffer.from(data));
    const accepted = target.write(data);
    if (target.writableLength > 0 && !isTlsSocket(target)) this.keepReadBuffer();
    return accepted;
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
