// Connections handed to a node:tls server (`server.emit("connection", socket)`) wait here for
// their 'secureConnection'. node:tls wraps the raw socket inside the server's connection listener
// and hands out the TLS socket only then; both have the same remote and local address and port,
// unique among open connections, which ties the two together (the local port too: one TLS server
// serves several listeners — the inbound ones of each port — and a client may use one source port
// towards two of them).
import type { Socket } from "node:net";

export class HandshakeWaiters<T> {
  private readonly waiting = new Map<string, T>();

  /** Remembers `value` for `socket` until its TLS socket is taken, it is dropped, or the socket closes. */
  add(socket: Socket, value: T): void {
    const key = peerKey(socket);
    this.waiting.set(key, value);
    socket.once("close", () => {
      if (this.waiting.get(key) === value) this.waiting.delete(key);
    });
  }

  /** The value of the connection under `socket` (the raw or the TLS socket), removed; undefined when none waits. */
  take(socket: Socket): T | undefined {
    const key = peerKey(socket);
    const value = this.waiting.get(key);
    this.waiting.delete(key);
    return value;
  }
}

function peerKey(socket: Socket): string {
  return `${socket.remoteAddress ?? ""}|${socket.remotePort ?? 0}|${socket.localPort ?? 0}`;
}
