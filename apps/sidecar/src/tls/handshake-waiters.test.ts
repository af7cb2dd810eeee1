import { EventEmitter } from "node:events";
import type { Socket } from "node:net";
import { describe, expect, it } from "vitest";
import { HandshakeWaiters } from "./handshake-waiters.ts";

const socketAt = (port: number, localPort = 15006): Socket => Object.assign(new EventEmitter(), { remoteAddress: "127.0.0.1", remotePort: port, localPort }) as unknown as Socket;

describe("HandshakeWaiters", () => {
  it("hands a connection's value to the socket with the same peer, once", () => {
    const waiters = new HandshakeWaiters<string>();
    waiters.add(socketAt(1000), "a");
    waiters.add(socketAt(1001), "b");
    expect(waiters.take(socketAt(1001))).toBe("b");
    expect(waiters.take(socketAt(1001))).toBeUndefined();
    expect(waiters.take(socketAt(1000))).toBe("a");
  });

  it("forgets a connection that closes, but not a newer one from the same peer", () => {
    const waiters = new HandshakeWaiters<string>();
    const closed = socketAt(2000);
    waiters.add(closed, "old");
    closed.emit("close");
    expect(waiters.take(socketAt(2000))).toBeUndefined();
    const first = socketAt(2001);
    waiters.add(first, "first");
    waiters.add(socketAt(2001), "second");
    first.emit("close");
    expect(waiters.take(socketAt(2001))).toBe("second");
  });

  it("tells apart connections from one source port to two listeners of the server", () => {
    const waiters = new HandshakeWaiters<string>();
    waiters.add(socketAt(3000, 18080), "http port");
    waiters.add(socketAt(3000, 19090), "grpc port");
    expect(waiters.take(socketAt(3000, 19090))).toBe("grpc port");
    expect(waiters.take(socketAt(3000, 18080))).toBe("http port");
  });
});
