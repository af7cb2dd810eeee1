// Flow control on the HTTP/1.1 data path: a slow client reading a large response, a request body
// that arrives while the proxy cannot send it yet (fault delay), and what that leaves behind in
// the upstream connection pool for the next request.
import { connect } from "node:net";
import { describe, expect, it } from "vitest";
import { eventually, sleep, useHarness } from "./support/harness.ts";
import { send } from "./support/http-client.ts";
import { firstDifference, patternedBody, readSlowly, sendInPieces } from "./support/patterned-body.ts";
import { docs, routeYaml } from "./support/mesh-yaml.ts";
import { serviceEntryYaml } from "./support/upstream-server.ts";

const h = useHarness();

/** Resolves with the response or undefined after `ms` (a hang shows as undefined, not a stuck test). */
const within = <T>(ms: number, p: Promise<T>): Promise<T | undefined> => Promise.race([p, sleep(ms).then(() => undefined)]);

describe("backpressure", () => {
  // When the proxy's last write of a response hits a full client buffer it pauses the upstream
  // socket; that connection must not go back to the pool paused, or the next request on it hangs.
  // Whether the last write hits a full buffer depends on timing, so the scenario runs a few times.
  it("a slow client reading a large response leaves a usable upstream connection behind", async () => {
    const a = await h.upstream("a");
    const big = Buffer.alloc(4 * 1024 * 1024, 0x61);
    a.handle((req, res) => {
      if (req.url === "/big") {
        res.setHeader("content-length", String(big.length));
        res.end(big);
      } else res.end("small");
    });
    const proxy = await h.proxy(serviceEntryYaml("svc.test", 80, [a]));
    for (let round = 0; round < 6; round++) {
      // A client that reads slowly (a pause after every chunk), so the proxy's writes keep hitting a full buffer.
      const socket = connect(proxy.port, "127.0.0.1");
      let received = 0;
      socket.on("error", () => undefined);
      socket.on("data", (c: Buffer) => {
        received += c.length;
        socket.pause();
        setTimeout(() => socket.resume(), 2);
      });
      socket.write("GET /big HTTP/1.1\r\nHost: svc.test\r\n\r\n");
      await eventually("the whole big response arrived", () => received > big.length, 10_000);
      // The next request (another client) reuses the pooled upstream connection.
      const next = await within(2000, send(proxy.port, { host: "svc.test", path: "/small" }));
      expect([round, next?.body]).toEqual([round, "small"]);
      socket.destroy();
    }
  }, 30_000);

  // The proxy reads upstream bytes into one reused buffer per connection. A write to a slow client
  // that is queued, or taken by the kernel only in part, still refers to those bytes, so the next
  // read must go to a fresh buffer; otherwise the client receives later bytes in place of earlier
  // ones (invisible with a body of one repeated byte: this one differs from position to position).
  // The upstream sends small pieces one event-loop turn apart (many small reads) while the client
  // does not read at first, then reads slowly.
  it("a slow client receives a large streamed response byte for byte", async () => {
    const a = await h.upstream("a");
    const body = patternedBody(6 * 1024 * 1024);
    a.handle((_req, res) => sendInPieces(res, body));
    const proxy = await h.proxy(serviceEntryYaml("svc.test", 80, [a]));
    const response = await readSlowly(proxy.port, "GET /patterned HTTP/1.1\r\nHost: svc.test\r\n\r\n", body.length, 500);
    expect(response.statusLine).toBe("HTTP/1.1 200 OK");
    expect(firstDifference(response.body, body)).toEqual([body.length, -1]);
  }, 60_000);

  it("a request body that arrives in many pieces during a fault delay is forwarded whole", async () => {
    const a = await h.upstream("a");
    a.handle((_req, res, body) => res.end(`len=${body.length}`));
    const proxy = await h.proxy(
      docs(serviceEntryYaml("svc.test", 80, [a]), routeYaml("svc.test", "fault: { delay: { fixedDelay: 300ms, percentage: { value: 100 } } }")),
    );
    const socket = connect(proxy.port, "127.0.0.1");
    socket.setNoDelay(true);
    let response = "";
    socket.on("data", (c: Buffer) => {
      response += c.toString("latin1");
    });
    socket.on("error", () => undefined);
    const pieces = 40;
    socket.write(`POST / HTTP/1.1\r\nHost: svc.test\r\nContent-Length: ${pieces * 100}\r\nConnection: close\r\n\r\n`);
    for (let i = 0; i < pieces; i++) {
      socket.write("b".repeat(100));
      await sleep(5);
    }
    await eventually("the response arrived", () => response.includes("\r\n\r\n"), 4000).catch(() => undefined);
    socket.destroy();
    expect(response).toMatch(/^HTTP\/1\.1 200 OK[\s\S]*len=4000$/);
  });
});
