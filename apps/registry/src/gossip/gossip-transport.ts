// The gossip adapter: runs a pure gossip core (@meshwork/gossip's Memberlist) on real sockets and
// timers. Datagrams go over UDP (node:dgram), push/pull state exchanges over TCP (node:net) with a
// 4-byte length prefix; both listen on the same host:port, which is the member's gossip address.
import { createSocket } from "node:dgram";
import type { Socket as UdpSocket } from "node:dgram";
import { createConnection, createServer } from "node:net";
import type { Server, Socket } from "node:net";

/**
 * What the adapter needs of the core; `Memberlist` of @meshwork/gossip satisfies it. Declared
 * structurally so this adapter does not depend on how the lib is linked.
 */
export interface GossipCore<E> {
  tick(nowMs: number): void;
  step(bytes: Uint8Array, from: string): void;
  receiveStream(bytes: Uint8Array, from: string): Uint8Array | undefined;
  ready(): {
    readonly packets: readonly { readonly to: string; readonly bytes: Uint8Array }[];
    readonly streams: readonly { readonly to: string; readonly bytes: Uint8Array }[];
    readonly events: readonly E[];
  };
  nextTickMs(): number;
  readonly pendingBroadcasts: number;
  leave(): void;
}

export interface GossipTransportOptions<E> {
  /** Interface to bind, e.g. "127.0.0.1" or "0.0.0.0". */
  readonly bindHost: string;
  /** Port for both UDP and TCP; 0 picks a free one. */
  readonly port: number;
  /** Host others reach this member at (default: bindHost). */
  readonly advertiseHost?: string;
  /** Builds the core once the address ("host:port") is known. */
  readonly createCore: (address: string) => GossipCore<E>;
  /** Receives the core's events in order. */
  readonly onEvent?: (event: E) => void;
  /** Largest push/pull exchange accepted, in bytes (default 16 MiB, the core's default limit). */
  readonly maxStreamBytes?: number;
  /** A push/pull exchange that takes longer is abandoned (default 10 s, memberlist TCPTimeout). */
  readonly streamTimeoutMs?: number;
  /** The clock (default Date.now); tests of the adapter may pass their own. */
  readonly now?: () => number;
}

/** Adapter-level counters (the core counts protocol-level drops itself). */
export interface GossipTransportStats {
  udpSendErrors: number;
  streamErrors: number;
  streamsOversized: number;
}

function splitAddress(address: string): { host: string; port: number } {
  const colon = address.lastIndexOf(":");
  const port = Number(address.slice(colon + 1));
  if (colon <= 0 || !Number.isInteger(port) || port <= 0 || port > 65_535) {
    throw new Error(`gossip: address "${address}" is not host:port (e.g. 10.0.0.5:8301)`);
  }
  return { host: address.slice(0, colon).replace(/^\[|\]$/g, ""), port };
}

/** Reads one length-prefixed frame from a socket; rejects on a frame over `max` bytes. */
function readFrame(socket: Socket, max: number): Promise<Uint8Array> {
  return new Promise((resolve, reject) => {
    let buffered = Buffer.alloc(0);
    const onData = (chunk: Buffer) => {
      buffered = Buffer.concat([buffered, chunk]);
      if (buffered.length < 4) return;
      const length = buffered.readUInt32BE(0);
      if (length > max) {
        cleanup();
        reject(new Error(`frame of ${length} bytes exceeds ${max}`));
        return;
      }
      if (buffered.length < 4 + length) return;
      cleanup();
      resolve(new Uint8Array(buffered.subarray(4, 4 + length)));
    };
    const onEnd = () => {
      cleanup();
      reject(new Error("stream ended before a whole frame"));
    };
    const onError = (error: Error) => {
      cleanup();
      reject(error);
    };
    const cleanup = () => {
      socket.off("data", onData);
      socket.off("end", onEnd);
      socket.off("error", onError);
      socket.off("close", onEnd);
    };
    socket.on("data", onData);
    socket.on("end", onEnd);
    socket.on("close", onEnd);
    socket.on("error", onError);
  });
}

function frame(bytes: Uint8Array): Buffer {
  const header = Buffer.alloc(4);
  header.writeUInt32BE(bytes.length, 0);
  return Buffer.concat([header, bytes]);
}

/** One member's sockets and timer around its core. Create with `GossipTransport.start`. */
export class GossipTransport<E> {
  readonly address: string;
  readonly core: GossipCore<E>;
  readonly stats: GossipTransportStats = { udpSendErrors: 0, streamErrors: 0, streamsOversized: 0 };
  readonly #udp: UdpSocket;
  readonly #tcp: Server;
  readonly #options: GossipTransportOptions<E>;
  readonly #now: () => number;
  readonly #openSockets = new Set<Socket>();
  #timer: ReturnType<typeof setTimeout> | undefined;
  #closed = false;

  private constructor(address: string, udp: UdpSocket, tcp: Server, options: GossipTransportOptions<E>) {
    this.address = address;
    this.#udp = udp;
    this.#tcp = tcp;
    this.#options = options;
    this.#now = options.now ?? Date.now;
    this.core = options.createCore(address);
    udp.on("message", (message, rinfo) => {
      this.#input(() => this.core.step(new Uint8Array(message), `${rinfo.address}:${rinfo.port}`));
    });
    tcp.on("connection", (socket) => void this.#serveStream(socket));
    this.#flush();
  }

  /** Binds TCP then UDP on the same port (retrying when port 0 gave a port UDP cannot take). */
  static async start<E>(options: GossipTransportOptions<E>): Promise<GossipTransport<E>> {
    for (let attempt = 0; ; attempt++) {
      const tcp = createServer();
      await new Promise<void>((resolve, reject) => {
        tcp.once("error", reject);
        tcp.listen(options.port, options.bindHost, () => resolve());
      });
      const address = tcp.address();
      if (address === null || typeof address === "string") throw new Error("gossip: TCP listener has no port");
      const udp = createSocket(address.family === "IPv6" ? "udp6" : "udp4");
      try {
        await new Promise<void>((resolve, reject) => {
          udp.once("error", reject);
          udp.bind(address.port, options.bindHost, () => resolve());
        });
      } catch (error) {
        udp.close();
        await new Promise<void>((resolve) => tcp.close(() => resolve()));
        if (options.port === 0 && attempt < 5) continue;
        throw new Error(`gossip: cannot bind UDP ${options.bindHost}:${address.port}; free the port or pick another`, { cause: error });
      }
      const host = options.advertiseHost ?? options.bindHost;
      return new GossipTransport(`${host.includes(":") ? `[${host}]` : host}:${address.port}`, udp, tcp, options);
    }
  }

  /** Runs `fn` on the core (join, userEvent, query, respond, setTags…), then sends what it produced. */
  act(fn: (core: GossipCore<E>) => void): void {
    this.#input(() => fn(this.core));
  }

  /**
   * Leaves gracefully: the core gossips its departure; resolves once nothing is left to gossip or
   * after `timeoutMs`, then closes. Without this, others detect the member as failed.
   */
  async leave(timeoutMs = 5_000): Promise<void> {
    this.act((core) => core.leave());
    const deadline = this.#now() + timeoutMs;
    while (this.core.pendingBroadcasts > 0 && this.#now() < deadline && !this.#closed) {
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    await this.close();
  }

  /** Stops timers and closes the sockets (an abrupt stop: others will detect a failure). */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    for (const socket of this.#openSockets) socket.destroy();
    await Promise.all([
      new Promise<void>((resolve) => this.#udp.close(() => resolve())),
      new Promise<void>((resolve) => this.#tcp.close(() => resolve())),
    ]);
  }

  #input(fn: () => void): void {
    if (this.#closed) return;
    this.core.tick(this.#now());
    fn();
    this.#flush();
  }

  /** Sends what the core produced, delivers its events and re-arms the timer for its next deadline. */
  #flush(): void {
    if (this.#closed) return;
    const ready = this.core.ready();
    for (const packet of ready.packets) {
      try {
        const { host, port } = splitAddress(packet.to);
        this.#udp.send(packet.bytes, port, host, (error) => {
          if (error) this.stats.udpSendErrors++;
        });
      } catch {
        this.stats.udpSendErrors++;
      }
    }
    for (const stream of ready.streams) void this.#pushPull(stream.to, stream.bytes);
    for (const event of ready.events) this.#options.onEvent?.(event);
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    const delay = Math.min(Math.max(this.core.nextTickMs() - this.#now(), 0), 1_000);
    this.#timer = setTimeout(() => this.#input(() => undefined), delay);
  }

  /** Initiates a push/pull: send our state, feed the peer's reply to the core. */
  async #pushPull(to: string, bytes: Uint8Array): Promise<void> {
    let socket: Socket | undefined;
    try {
      const { host, port } = splitAddress(to);
      const connected = createConnection({ host, port });
      socket = connected;
      this.#openSockets.add(connected);
      connected.setTimeout(this.#options.streamTimeoutMs ?? 10_000, () => connected.destroy(new Error("push/pull timed out")));
      await new Promise<void>((resolve, reject) => {
        connected.once("connect", resolve);
        connected.once("error", reject);
      });
      connected.write(frame(bytes));
      const reply = await readFrame(connected, this.#options.maxStreamBytes ?? 16 * 1024 * 1024 + 64);
      this.#input(() => this.core.receiveStream(reply, to));
    } catch {
      this.stats.streamErrors++;
    } finally {
      if (socket !== undefined) {
        this.#openSockets.delete(socket);
        socket.destroy();
      }
    }
  }

  /** Answers a push/pull: read the peer's state, reply with ours. */
  async #serveStream(socket: Socket): Promise<void> {
    this.#openSockets.add(socket);
    socket.setTimeout(this.#options.streamTimeoutMs ?? 10_000, () => socket.destroy());
    try {
      const request = await readFrame(socket, this.#options.maxStreamBytes ?? 16 * 1024 * 1024 + 64);
      let reply: Uint8Array | undefined;
      this.#input(() => {
        reply = this.core.receiveStream(request, `${socket.remoteAddress}:${socket.remotePort}`);
      });
      if (reply !== undefined) await new Promise<void>((resolve) => socket.end(frame(reply as Uint8Array), () => resolve()));
    } catch (error) {
      if (error instanceof Error && error.message.includes("exceeds")) this.stats.streamsOversized++;
      else this.stats.streamErrors++;
    } finally {
      this.#openSockets.delete(socket);
      socket.destroy();
    }
  }
}
