// The HTTP/2 path (node:http2 and the sidecar's h2 modules) is loaded by a listener's first HTTP/2
// connection, not at start (src/http2/load-http2-handler.ts). The connections that arrive while it
// loads wait paused with the bytes read so far: nothing they sent may be lost, and each is served.
import type { ClientHttp2Session } from "node:http2";
import { afterEach, describe, expect, it } from "vitest";
import { loadedHttp2Path } from "../src/http2/load-http2-handler.ts";
import { UpstreamSessions } from "../src/http2/upstream-sessions.ts";
import { defaultHeadLimits } from "../src/http1/parse-request-head.ts";
import type { ExchangeEnvironment } from "../src/proxy/exchange.ts";
import { HttpListener } from "../src/proxy/http-listener.ts";
import { routeOutbound, type Decision } from "../src/proxy/route-request.ts";
import { PoolRegistry } from "../src/upstream/pool-registry.ts";
import { h2Connect, h2Request } from "./support/h2-client.ts";
import { h2ServiceEntryYaml, startH2Upstream } from "./support/h2-upstream-server.ts";
import { snapshotFromYaml } from "./support/proxy-fixture.ts";

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function startListener(yaml: string): Promise<number> {
  const pools = new PoolRegistry();
  const upstreams = new UpstreamSessions();
  const env: ExchangeEnvironment = { now: () => performance.now(), random: Math.random, extraRequestHeaders: () => "", finished: () => undefined };
  const snapshot = snapshotFromYaml(yaml, pools);
  let port = 0;
  const listener = new HttpListener({
    limits: defaultHeadLimits,
    env,
    headersTimeoutMs: 10_000,
    idleTimeoutMs: 60_000,
    decide: (head, sourceIp): Decision => routeOutbound(snapshot, { head, listenerPort: port, sourceIp, random: Math.random }),
    http2Upstreams: upstreams,
  });
  port = await listener.listen(0, "127.0.0.1");
  cleanups.push(async () => {
    await listener.drain(1000);
    upstreams.closeAll();
    pools.closeAll();
  });
  return port;
}

function session(port: number): ClientHttp2Session {
  const client = h2Connect(port);
  cleanups.push(() => void client.destroy());
  return client;
}

describe("the first HTTP/2 connections of a listener", () => {
  it("load the HTTP/2 path on demand and are all served, bodies sent before it loaded included", async () => {
    const upstream = await startH2Upstream("a");
    cleanups.push(() => upstream.close());
    const port = await startListener(h2ServiceEntryYaml("svc.test", 80, [upstream.port], "HTTP2"));
    expect(loadedHttp2Path()).toBeUndefined();
    // Three clients at once, each sending its preface, SETTINGS, HEADERS and a body at once: all of
    // it arrives while the first connection's import is pending.
    const bodies = ["one", "two".repeat(10_000), "three"];
    const responses = await Promise.all(bodies.map((body) => h2Request(session(port), { ":authority": "svc.test" }, body)));
    expect(loadedHttp2Path()).toBeDefined();
    expect(responses.map((r) => [r.status, r.body, r.trailers["x-upstream"]])).toEqual(bodies.map(() => [200, "a", "a"]));
    expect(upstream.requests.map((r) => r.body).sort()).toEqual([...bodies].sort());
    // Once loaded, a new connection is handed over at once.
    const later = await h2Request(session(port), { ":authority": "svc.test" });
    expect(later.status).toBe(200);
  });
});
