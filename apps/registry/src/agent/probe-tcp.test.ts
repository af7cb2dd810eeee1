// The TCP probe against a real local listener on port 0.
import { type AddressInfo, createServer as createTcpServer } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { probeTcp, splitHostPort } from "./probe-tcp.ts";

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0)) await cleanup();
});

describe("TCP probe", () => {
  it("splits host:port", () => {
    expect(splitHostPort("10.0.0.1:80")).toEqual({ host: "10.0.0.1", port: 80 });
    expect(splitHostPort("[::1]:8080")).toEqual({ host: "::1", port: 8080 });
    expect(splitHostPort("nope")).toBeUndefined();
  });
  it("passes when a connection opens, fails when refused", async () => {
    const server = createTcpServer((socket) => socket.end());
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    cleanups.push(() => new Promise((resolve) => server.close(() => resolve())));
    const address = `127.0.0.1:${(server.address() as AddressInfo).port}`;
    expect(await probeTcp(address, 2000)).toEqual({ status: "passing", output: `TCP connect ${address}: Success` });
    expect((await probeTcp("127.0.0.1:1", 2000)).status).toBe("critical");
    expect((await probeTcp("bad", 2000)).output).toContain("invalid address");
  });
});
