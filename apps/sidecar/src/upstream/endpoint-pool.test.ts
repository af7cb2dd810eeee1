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
