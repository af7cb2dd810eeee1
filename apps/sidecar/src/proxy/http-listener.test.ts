import { connect, type Socket } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { defaultHeadLimits } from "../http1/parse-request-head.ts";
import type { ExchangeEnvironment } from "./exchange.ts";
import { HttpListener } from "./http-listener.ts";
import type { Decision } from "./route-request.ts";

const env: ExchangeEnvironment = { now: () => performance.now(), random: Math.random, extraRequestHeaders: () => "", finished: () => undefined };
const ok: Decision = { type: "reply", status: 200, flag: "", body: "ok", headers: [], routeName: "", details: "direct_response" };

let listener: HttpListener | undefined;
afterEach(async () => {
  await listener?.drain(100);
  listener = undefined;
});

async function start(idleTimeoutMs: number, decide: (path: string) => Decision | Promise<Decision>): Promise<number> {
  listener = new HttpListener({ limits: defaultHeadLimits, env, headersTimeoutMs: 10_000, idleTimeoutMs, decide: (head) => decide(head.path) });
  return listener.listen(0, "127.0.0.1");
}

function client(port: number): { socket: Socket; received: () => string; closed: () => boolean } {
  const socket = connect(port, "127.0.0.1");
  let text = "";
  let closed = false;
  socket.on("data", (chunk: Buffer) => (text += chunk.toString("latin1")));
  socket.on("error", () => undefined);
  socket.on("close", () => (closed = true));
  return { socket, received: () => text, closed: () => closed };
}

function until(check: () => boolean, what: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const started = Date.now();
    const poll = (): void => {
      if (check()) resolve();
      else if (Date.now() - started > 5000) reject(new Error(`${what}: not within 5 s`));
      else setTimeout(poll, 5);
    };
    poll();
  });
}

describe("HttpListener idle timeout", () => {
  it("closes a kept-alive connection without traffic for idleTimeoutMs, not one whose request is in progress", async () => {
    const port = await start(100, (path) => (path === "/slow" ? new Promise<Decision>(() => undefined) : ok));
    const idle = client(port);
    const busy = client(port);
    idle.socket.write("GET /fast HTTP/1.1\r\nHost: a\r\n\r\n");
    busy.socket.write("GET /slow HTTP/1.1\r\nHost: a\r\n\r\n");
    await until(() => idle.received().endsWith("ok"), "the answer");
    await until(() => idle.closed(), "the idle connection closed");
    // Several idle timeouts later, the connection waiting for its decision is still open.
    await new Promise((resolve) => setTimeout(resolve, 400));
    expect(busy.closed()).toBe(false);
    busy.socket.destroy();
  });

  it("counts traffic as activity: a connection used more often than idleTimeoutMs stays open", async () => {
    const port = await start(300, () => ok);
    const c = client(port);
    for (let i = 1; i <= 8; i++) {
      c.socket.write("GET / HTTP/1.1\r\nHost: a\r\n\r\n");
      await until(() => c.received().split("\r\n\r\nok").length - 1 === i, `answer ${i}`);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    expect(c.closed()).toBe(false);
    c.socket.destroy();
  });
});
