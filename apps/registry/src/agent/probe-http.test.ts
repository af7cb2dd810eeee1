// The HTTP probe against a real local server on port 0.
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { httpStatusToHealth, probeHttp } from "./probe-http.ts";

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0)) await cleanup();
});

describe("HTTP probe", () => {
  it("maps status codes as Consul: 2xx passing, 429 warning, else critical", () => {
    expect([200, 204, 299, 429, 300, 404, 500].map(httpStatusToHealth)).toEqual(["passing", "passing", "passing", "warning", "critical", "critical", "critical"]);
  });
  it("probes a real server and reports the body in the output", async () => {
    const server = createServer((request, response) => {
      response.writeHead(request.url === "/busy" ? 429 : request.url === "/ok" ? 200 : 503);
      response.end(request.url === "/ok" ? "all good" : "no");
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    cleanups.push(() => new Promise((resolve) => server.close(() => resolve())));
    const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    expect(await probeHttp(`${base}/ok`, 2000)).toEqual({ status: "passing", output: `HTTP GET ${base}/ok: 200 OK Output: all good` });
    expect((await probeHttp(`${base}/busy`, 2000)).status).toBe("warning");
    expect((await probeHttp(`${base}/down`, 2000)).status).toBe("critical");
  });
  it("is critical when nothing listens", async () => {
    const result = await probeHttp("http://127.0.0.1:1/", 2000);
    expect(result.status).toBe("critical");
    expect(result.output).toContain('Get "http://127.0.0.1:1/"');
  });
});
