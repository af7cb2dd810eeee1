// Per-test setup for the data-path integration tests: starts proxies and upstreams, closes them
// all after each test, and polls for conditions that become true "eventually" (no timing
// assertions: only an upper bound after which the test fails).
import { afterEach } from "vitest";
import type { ClusterRuntime } from "../../src/proxy/cluster-runtime.ts";
import { startOutboundProxy, type ProxyFixture } from "./proxy-fixture.ts";
import { startRawUpstream, type RawHeadHandler, type RawUpstream } from "./raw-upstream.ts";
import { startUpstream, type UpstreamServer } from "./upstream-server.ts";

export interface Harness {
  upstream(name: string): Promise<UpstreamServer>;
  rawUpstream(handler: RawHeadHandler): Promise<RawUpstream>;
  proxy(yaml: string, options?: Parameters<typeof startOutboundProxy>[1]): Promise<ProxyFixture>;
}

/** Registers an afterEach that closes everything the test started. */
export function useHarness(): Harness {
  const closers: (() => Promise<void>)[] = [];
  afterEach(async () => {
    for (const close of closers.splice(0).reverse()) await close();
  });
  return {
    async upstream(name) {
      const u = await startUpstream(name);
      closers.push(() => u.close());
      return u;
    },
    async rawUpstream(handler) {
      const u = await startRawUpstream(handler);
      closers.push(() => u.close());
      return u;
    },
    async proxy(yaml, options) {
      const p = await startOutboundProxy(yaml, options);
      closers.push(() => p.close());
      return p;
    },
  };
}

/** Resolves once `condition()` holds; rejects with `what` after `timeoutMs`. */
export async function eventually(what: string, condition: () => boolean | Promise<boolean>, timeoutMs = 5000, everyMs = 20): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  for (;;) {
    if (await condition()) return;
    if (performance.now() > deadline) throw new Error(`not within ${timeoutMs} ms: ${what}`);
    await sleep(everyMs);
  }
}

export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** The record of the last finished request (throws when none). */
export function lastRecord(proxy: ProxyFixture): ProxyFixture["finished"][number]["record"] {
  const last = proxy.finished.at(-1);
  if (!last) throw new Error("no request finished yet");
  return last.record;
}

/** The cluster runtime the last forwarded request used (throws when none was forwarded). */
export function lastCluster(proxy: ProxyFixture): ClusterRuntime {
  for (let i = proxy.finished.length - 1; i >= 0; i--) {
    const decision = proxy.finished[i]?.decision;
    if (decision?.type === "forward") return decision.cluster;
  }
  throw new Error("no request was forwarded yet");
}

/** Response flags of a record as a sorted list. */
export const flagsOf = (record: { responseFlags: string }): string[] => (record.responseFlags === "" ? [] : record.responseFlags.split(",").sort());
