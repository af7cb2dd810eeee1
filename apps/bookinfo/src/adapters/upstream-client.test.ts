// The upstream client on real sockets: a deadline on the whole answer, a refused connection as
// a value, and one retry when a reused keep-alive connection turns out closed.
import { createServer, type Server } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { resolveUpstreamTarget, type UpstreamTarget } from "../core/upstream-target.ts";
import { createUpstreamClient, type UpstreamClient } from "./upstream-client.ts";

let client: UpstreamClient;
let server: Server | undefined;
afterEach(async () => {
  client.close();
  await new Promise<void>((resolve) => (server === undefined ? resolve() : server.close(() => resolve())));
  server = undefined;
});

function targetAt(port: number): UpstreamTarget {
  const result = resolveUpstreamTarget("ratings", { directUrl: `http://127.0.0.1:${port}`, proxyUrl: undefined, style: "absolute", servicesDomain: undefined });
  if (!result.ok) throw new Error(result.message);
  return result.target;
}

/** A raw HTTP/1.1 server: `onRequest(n, socket)` for the n-th request head on the n-th connection. */
async function startRaw(onRequest: (connection: number, request: number, socket: import("node:net").Socket) => void): Promise<number> {
  let connections = 0;
  server = createServer((socket) => {
    const connection = ++connections;
    let requests = 0;
    let buffered = "";
    socket.on("data", (chunk: Buffer) => {
      buffered += chunk.toString("latin1");
      while (buffered.includes("\r\n\r\n")) {
        buffered = buffered.slice(buffered.indexOf("\r\n\r\n") + 4);
        onRequest(connection, ++requests, socket);
      }
    });
    socket.on("error", () => undefined);
  });
  await new Promise<void>((resolve) => server?.listen(0, "127.0.0.1", resolve));
  return (server?.address() as { port: number }).port;
}

const ok = (body: string) => `HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: ${body.length}\r\nconnection: keep-alive\r\n\r\n${body}`;

describe("createUpstreamClient", () => {
  it("retries a GET once when its reused connection was closed under it, and not a fresh one", async () => {
    const seen: [number, number][] = [];
    const port = await startRaw((connection, request, socket) => {
      seen.push([connection, request]);
      if (connection === 1 && request === 2) socket.destroy();
      else socket.write(ok(`{"c":${connection}}`));
    });
    client = createUpstreamClient();
    const target = targetAt(port);
    expect(await client.call(target, { path: "/ratings/0", headers: {}, timeoutMs: 5000 })).toEqual({ type: "response", status: 200, body: '{"c":1}' });
    expect(await client.call(target, { path: "/ratings/0", headers: {}, timeoutMs: 5000 })).toEqual({ type: "response", status: 200, body: '{"c":2}' });
    expect(seen).toEqual([
      [1, 1],
      [1, 2],
      [2, 1],
    ]);
  });

  it("reports a connection closed without an answer on a fresh connection as an error", async () => {
    const port = await startRaw((_c, _r, socket) => socket.destroy());
    client = createUpstreamClient();
    expect(await client.call(targetAt(port), { path: "/ratings/0", headers: {}, timeoutMs: 5000 })).toMatchObject({ type: "failed", reason: "error" });
  });

  it("gives up when the answer does not complete within the deadline", async () => {
    const port = await startRaw((_c, _r, socket) => socket.write("HTTP/1.1 200 OK\r\ncontent-length: 10\r\n\r\nabc"));
    client = createUpstreamClient();
    expect(await client.call(targetAt(port), { path: "/ratings/0", headers: {}, timeoutMs: 50 })).toEqual({ type: "failed", reason: "timeout", message: "no complete answer within 50 ms" });
  });
});
