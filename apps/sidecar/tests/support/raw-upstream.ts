// A raw TCP upstream for tests that need to break HTTP on purpose (garbage responses, resets
// mid-body, 101 tunnels): each connection gets the received request head and the socket, and
// the test writes whatever bytes it wants.
import { connect, createServer, type Server, type Socket } from "node:net";

export interface RawUpstream {
  readonly port: number;
  readonly server: Server;
  /** Connections accepted so far. */
  readonly connections: Socket[];
  /** Request heads received (up to and including the blank line), in order. */
  readonly heads: string[];
  /** Replaces what happens after a request head arrived on a connection. */
  onHead(handler: RawHeadHandler): void;
  close(): Promise<void>;
}

/** `rest` holds bytes after the head that arrived with it (body, or tunnel data). */
export type RawHeadHandler = (socket: Socket, head: string, rest: Buffer) => void;

export async function startRawUpstream(handler: RawHeadHandler): Promise<RawUpstream> {
  let current = handler;
  const connections: Socket[] = [];
  const heads: string[] = [];
  const server = createServer((socket) => {
    connections.push(socket);
    socket.on("error", () => undefined);
    let buffer = Buffer.alloc(0);
    const onData = (data: Buffer): void => {
      buffer = Buffer.concat([buffer, data]);
      const end = buffer.indexOf("\r\n\r\n");
      if (end < 0) return;
      socket.off("data", onData);
      const head = buffer.toString("latin1", 0, end + 4);
      heads.push(head);
      current(socket, head, buffer.subarray(end + 4));
    };
    socket.on("data", onData);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const address = server.address();
  const port = typeof address === "object" && address ? address.port : 0;
  return {
    port,
    server,
    connections,
    heads,
    onHead(next) {
      current = next;
    },
    async close() {
      for (const socket of connections) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** Opens a client socket, writes `bytes`, and resolves with what came back and whether the peer closed or reset it before `waitMs`. */
export function rawRoundTrip(port: number, bytes: string | Buffer, waitMs = 3000): Promise<{ data: string; ended: "closed" | "reset" | "timeout" }> {
  return new Promise((resolve) => {
    const socket = connect(port, "127.0.0.1");
    const chunks: Buffer[] = [];
    let ended: "closed" | "reset" | "timeout" = "closed";
    const timer = setTimeout(() => {
      ended = "timeout";
      socket.destroy();
    }, waitMs);
    socket.on("data", (c: Buffer) => chunks.push(c));
    socket.on("error", () => {
      if (ended !== "timeout") ended = "reset";
    });
    socket.on("close", () => {
      clearTimeout(timer);
      resolve({ data: Buffer.concat(chunks).toString("latin1"), ended });
    });
    socket.write(bytes);
  });
}
