import { createServer, type Server, type Socket } from "node:net";
import { CircuitBreaker } from "@meshwork/proxy-core";
import { afterEach, describe, expect, it } from "vitest";
import { EndpointPool } from "./endpoint-pool.ts";
import type { UpstreamConnection } from "./upstream-connection.ts";

let server: Server | undefined;
afterEach(() => new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve())));

async function listen(onConnection: (socket: Socket) => void): Promise<number> {
  server = createServer(onConnection);
  await new Promise<void>((resolve) => server?.listen(0, "127.0.0.1", resolve));
  const address = server.address();
  if (typeof address !== "object" || address === null) throw new Error("no address");
  return address.port;
}

function until(check: () => boolean): Promise<void> {
  return new Promise((resolve, reject) => {
    const started = Date.now();
    const poll = (): void => {
      if (check()) resolve();
      else if (Date.now() - started > 5000) reject(new Error("condition not met within 5 s"));
      else setTimeout(poll, 5);
    };
    poll();
  });
}

describe("EndpointPool", () => {
  it("closes a connection that receives bytes while no exchange holds it", async () => {
    const port = await listen((socket) => void socket.write("unasked"));
    const pool = new EndpointPool({ host: "127.0.0.1", port, connectTimeoutMs: 1000, idleTimeoutMs: 5000 });
    const connection = pool.openConnection(new CircuitBreaker(undefined)) as UpstreamConnection;
    await until(() => connection.closed);
    expect(pool.open).toBe(0);
  });
});

describe("EndpointPool idle timeout", () => {
  it("closes a connection idle in the pool for idleTimeoutMs, and not one an exchange holds", async () => {
    const port = await listen(() => undefined);
    const pool = new EndpointPool({ host: "127.0.0.1", port, connectTimeoutMs: 1000, idleTimeoutMs: 100 });
    const breaker = new CircuitBreaker(undefined);
    const idle = pool.openConnection(breaker) as UpstreamConnection;
    const busy = pool.openConnection(breaker) as UpstreamConnection;
    busy.handler = { onUpstreamData: () => undefined, onUpstreamClose: () => undefined, onUpstreamDrain: () => undefined };
    await until(() => idle.connected && busy.connected);
    pool.release(idle);
    expect(pool.idleCount).toBe(1);
    await until(() => idle.closed);
    expect([pool.idleCount, pool.open, busy.closed]).toEqual([0, 1, false]);
    // Released later, the other one times out after its own idle time.
    pool.release(busy);
    await until(() => busy.closed);
    expect(pool.open).toBe(0);
  });

  it("keeps a connection that is taken again before its idle time is up", async () => {
    const port = await listen(() => undefined);
    const pool = new EndpointPool({ host: "127.0.0.1", port, connectTimeoutMs: 1000, idleTimeoutMs: 150 });
    const breaker = new CircuitBreaker(undefined);
    const connection = pool.openConnection(breaker) as UpstreamConnection;
    await until(() => connection.connected);
    pool.release(connection);
    expect(pool.takeIdle()).toBe(connection);
    // Held for longer than the idle timeout: the pool's timer finds no idle connection to close.
    await new Promise((resolve) => setTimeout(resolve, 400));
    expect(connection.closed).toBe(false);
    pool.close();
    connection.socket.destroy();
  });
});
