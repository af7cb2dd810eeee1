// Per-test setup for the HTTP/2 integration tests: the proxy and the h2 client of the test, and
// the upstreams it starts, all closed after each test (client first, then proxy, then upstreams).
import type { ClientHttp2Session } from "node:http2";
import { afterEach } from "vitest";
import type { Http2ProxyFixture } from "./h2-proxy-fixture.ts";
import { startH2Upstream, type H2UpstreamServer } from "./h2-upstream-server.ts";
import { startUpstream, type UpstreamServer } from "./upstream-server.ts";

export interface H2Harness {
  /** The test's proxy, closed after it. */
  proxy: Http2ProxyFixture | undefined;
  /** The test's h2 client, destroyed after it. */
  client: ClientHttp2Session | undefined;
  h2Upstream(name: string): Promise<H2UpstreamServer>;
  h1Upstream(name: string): Promise<UpstreamServer>;
  /** Something else to close after the test, with the upstreams. */
  defer(close: () => Promise<void> | void): void;
}

/** Registers an afterEach that closes everything the test started. */
export function useH2Harness(): H2Harness {
  const closers: (() => Promise<void> | void)[] = [];
  const harness: H2Harness = {
    proxy: undefined,
    client: undefined,
    async h2Upstream(name) {
      const u = await startH2Upstream(name);
      closers.push(() => u.close());
      return u;
    },
    async h1Upstream(name) {
      const u = await startUpstream(name);
      closers.push(() => u.close());
      return u;
    },
    defer(close) {
      closers.push(close);
    },
  };
  afterEach(async () => {
    harness.client?.destroy();
    harness.client = undefined;
    await harness.proxy?.close();
    harness.proxy = undefined;
    for (const close of closers.splice(0)) await close();
  });
  return harness;
}
