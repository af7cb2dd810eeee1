import { connect, createServer, type Server, type Socket } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { ReadBuffer, readAcceptedInto, writeRead } from "./read-buffer.ts";

let server: Server | undefined;
const sockets: Socket[] = [];

afterEach(async () => {
  for (const socket of sockets.splice(0)) socket.destroy();
  await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
  server = undefined;
});

/** A server whose first accepted socket is handed to `accepted`, and a client connected to it. */
async function pair(accepted: (socket: Socket) => void): Promise<Socket> {
  server = createServer((socket) => {
    sockets.push(socket);
    accepted(socket);
  });
  await new Promise<void>((resolve) => server?.listen(0, "127.0.0.1", resolve));
  const address = server.address();
  const client = connect(typeof address === "object" && address !== null ? address.port : 0, "127.0.0.1");
  sockets.push(client);
  await new Promise((resolve) => client.once("connect", resolve));
  return client;
}

const until = async (what: string, condition: () => boolean): Promise<void> => {
  for (let i = 0; i < 250 && !condition(); i++) await new Promise((resolve) => setTimeout(resolve, 20));
  if (!condition()) throw new Error(`timed out waiting for ${what}`);
};

describe("ReadBuffer", () => {
  it("reuses its buffer until a read is kept, then hands out a fresh one", () => {
    const reads = new ReadBuffer(16);
    const first = reads.next();
    expect(reads.next()).toBe(first);
    reads.kept = true;
    const second = reads.next();
    expect(second).not.toBe(first);
    expect(reads.next()).toBe(second);
  });
});

describe("readAcceptedInto", () => {
  it("an accepted socket reads into the one buffer, in order, and ends", async () => {
    const reads = new ReadBuffer(64);
    const seen: string[] = [];
    const buffers = new Set<ArrayBufferLike>();
    let adopted: boolean | undefined;
    let ended = false;
    const client = await pair((socket) => {
      adopted = readAcceptedInto(socket, reads);
      reads.sink = (data) => {
        buffers.add(data.buffer);
        seen.push(data.toString("latin1"));
      };
      socket.on("end", () => (ended = true));
    });
    for (const piece of ["one ", "two ", "three"]) {
      client.write(piece);
      await until(`"${piece}"`, () => seen.join("").includes(piece));
    }
    client.end();
    await until("the end", () => ended);
    expect(adopted).toBe(true);
    expect(seen.join("")).toBe("one two three");
    expect(buffers.size).toBe(1);
  });

  it("pause stops the reads into the buffer and resume restarts them", async () => {
    const reads = new ReadBuffer(64);
    let seen = "";
    let accepted: Socket | undefined;
    const client = await pair((socket) => {
      accepted = socket;
      readAcceptedInto(socket, reads);
      reads.sink = (data) => {
        seen += data.toString("latin1");
      };
    });
    client.write("a");
    await until("a", () => seen === "a");
    accepted?.pause();
    client.write("b");
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(seen).toBe("a");
    accepted?.resume();
    await until("b", () => seen === "ab");
  });
});

describe("writeRead", () => {
  it("copies bytes that would wait behind a queued write; keeps the buffer when the kernel takes part of a write", async () => {
    let receiver: Socket | undefined;
    const sender = await pair((socket) => {
      receiver = socket;
      socket.pause();
    });
    const reads = new ReadBuffer(64 * 1024);
    const buffer = reads.next();
    // Fill the kernel's buffers until a write is only partly taken.
    buffer.fill(1);
    while (sender.writableLength === 0) writeRead(sender, buffer, reads);
    expect(reads.kept).toBe(true);
    // The next read goes into a fresh buffer; its bytes wait behind the queued ones as a copy, so
    // a later read into that buffer changes nothing queued.
    const next = reads.next();
    expect(next).not.toBe(buffer);
    next.fill(2);
    writeRead(sender, next.subarray(0, 10), reads);
    expect(reads.kept).toBe(false);
    next.fill(3);
    let received = Buffer.alloc(0);
    receiver?.on("data", (chunk: Buffer) => (received = Buffer.concat([received, chunk])));
    receiver?.resume();
    await until("the queued bytes", () => sender.writableLength === 0 && received.includes(2));
    expect(received.includes(3)).toBe(false);
    expect(received.subarray(received.indexOf(2)).equals(Buffer.alloc(10, 2))).toBe(true);
  });
});
