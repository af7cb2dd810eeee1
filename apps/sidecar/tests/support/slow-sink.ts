// For tests that a proxy reusing its client connections' read buffers never forwards a byte a
// later read put there: an upstream that reads request bodies slowly (so the proxy's writes to it
// queue up) and keeps every body it received, and a client that sends pipelined requests cut
// into pieces at awkward places (heads split across reads, several requests in one read).
import { connect, createServer, type Server, type Socket } from "node:net";

export interface SlowSink {
  readonly port: number;
  /** Bodies received, by request path (Content-Length framing only). */
  readonly bodies: Map<string, Buffer>;
  /** Connections accepted so far. */
  readonly connections: number;
  /** Request lines received, in order. */
  readonly requestLines: string[];
  /** Bytes received so far, over all connections. */
  readonly received: number;
  close(): Promise<void>;
}

export interface SlowSinkOptions {
  /** Nothing is read for this long after a connection opens (default 300 ms). */
  readonly firstPauseMs?: number;
  /** Paths whose first request is answered by closing the connection once its body arrived (a reset to retry). */
  readonly resetFirst?: readonly string[];
}

/** Each response: 200 with body `PATH LENGTH`. */
export async function startSlowSink(options: SlowSinkOptions = {}): Promise<SlowSink> {
  const bodies = new Map<string, Buffer>();
  const requestLines: string[] = [];
  const resetPending = new Set(options.resetFirst ?? []);
  let connections = 0;
  let received = 0;
  const sockets = new Set<Socket>();
  const server: Server = createServer((socket) => {
    connections += 1;
    sockets.add(socket);
    socket.on("close", () => sockets.delete(socket));
    socket.on("error", () => undefined);
    socket.pause();
    let buffer = Buffer.alloc(0);
    const serveBuffered = (): void => {
      for (;;) {
        const end = buffer.indexOf("\r\n\r\n");
        if (end < 0) return;
        const head = buffer.toString("latin1", 0, end);
        const length = Number(/\r\ncontent-length: *(\d+)/i.exec(head)?.[1] ?? 0);
        if (buffer.length < end + 4 + length) return;
        const path = head.split(" ")[1] ?? "";
        const body = Buffer.from(buffer.subarray(end + 4, end + 4 + length));
        buffer = buffer.subarray(end + 4 + length);
        if (resetPending.delete(path)) {
          socket.destroy();
          return;
        }
        requestLines.push(head.slice(0, head.indexOf("\r\n")));
        bodies.set(path, body);
        const text = `${path} ${length}`;
        socket.write(`HTTP/1.1 200 OK\r\ncontent-length: ${text.length}\r\n\r\n${text}`);
      }
    };
    socket.on("data", (chunk: Buffer) => {
      received += chunk.length;
      buffer = Buffer.concat([buffer, chunk]);
      serveBuffered();
      // A pause after every read: the proxy's writes keep hitting a full buffer.
      socket.pause();
      setTimeout(() => socket.resume(), 1);
    });
    setTimeout(() => socket.resume(), options.firstPauseMs ?? 300);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const address = server.address();
  return {
    port: typeof address === "object" && address !== null ? address.port : 0,
    bodies,
    requestLines,
    get connections() {
      return connections;
    },
    get received() {
      return received;
    },
    close: async () => {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** A request with a body (POST) or without (GET, when `body` is undefined), as bytes. */
export function requestBytes(host: string, path: string, body?: Buffer): Buffer {
  if (body === undefined) return Buffer.from(`GET ${path} HTTP/1.1\r\nhost: ${host}\r\n\r\n`, "latin1");
  return Buffer.concat([Buffer.from(`POST ${path} HTTP/1.1\r\nhost: ${host}\r\ncontent-length: ${body.length}\r\n\r\n`, "latin1"), body]);
}

/** `size` bytes that differ from position to position and from one `seed` to another. */
export function seededBody(size: number, seed: number): Buffer {
  const body = Buffer.alloc(size);
  for (let i = 0; i < size; i++) body[i] = (i * 13 + seed * 31 + (i >> 10)) % 253;
  return body;
}

/**
 * Writes `bytes` to `port` in pieces of the given sizes (cycled), one event-loop turn apart
 * after each, so they arrive in separate reads; resolves with what came back once `until` says
 * the answer is complete (or after `timeoutMs`).
 */
export async function sendInCuts(port: number, bytes: Buffer, cuts: readonly number[], until: (received: string) => boolean, timeoutMs = 20_000): Promise<string> {
  const socket = connect(port, "127.0.0.1");
  socket.setNoDelay(true);
  socket.on("error", () => undefined);
  let received = "";
  socket.on("data", (chunk: Buffer) => {
    received += chunk.toString("latin1");
  });
  await new Promise<void>((resolve, reject) => {
    socket.once("connect", resolve);
    socket.once("error", reject);
  });
  let at = 0;
  for (let i = 0; at < bytes.length; i++) {
    const size = cuts[i % cuts.length] as number;
    const piece = bytes.subarray(at, at + size);
    at += piece.length;
    if (!socket.write(piece)) await new Promise((resolve) => socket.once("drain", resolve));
    await new Promise((resolve) => setTimeout(resolve, 1));
  }
  for (let waited = 0; waited < timeoutMs && !until(received); waited += 20) await new Promise((resolve) => setTimeout(resolve, 20));
  socket.destroy();
  return received;
}

/** The bodies of the responses in `text` (Content-Length framing), in order. */
export function responseBodies(text: string): string[] {
  const bodies: string[] = [];
  let at = 0;
  for (;;) {
    const end = text.indexOf("\r\n\r\n", at);
    if (end < 0) return bodies;
    const length = Number(/\r\ncontent-length: *(\d+)/i.exec(text.slice(at, end))?.[1] ?? 0);
    bodies.push(text.slice(end + 4, end + 4 + length));
    at = end + 4 + length;
  }
}

/** Pipelined requests with and without bodies; the bodies by path. */
export function pipelinedRequests(host: string): { bytes: Buffer; bodies: Map<string, Buffer>; answers: string[] } {
  const requests: [string, Buffer | undefined][] = [
    ["/p1", seededBody(70_000, 1)],
    ["/g1", undefined],
    ["/p2", seededBody(3000, 2)],
    ["/p3", seededBody(200_000, 3)],
    ["/g2", undefined],
    ["/p4", seededBody(17, 4)],
  ];
  const bodies = new Map<string, Buffer>();
  for (const [path, body] of requests) if (body) bodies.set(path, body);
  return { bytes: Buffer.concat(requests.map(([path, body]) => requestBytes(host, path, body))), bodies, answers: requests.map(([path, body]) => `${path} ${body?.length ?? 0}`) };
}
