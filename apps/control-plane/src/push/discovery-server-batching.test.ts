// A push to more proxies than one batch: every proxy gets it, in push order, and a push that
// starts while another is still running wins (no proxy is left on the older generation).
import { EventEmitter } from "node:events";
import type { ServerDuplexStream } from "@grpc/grpc-js";
import type { DiscoveryRequest, DiscoveryResponse } from "@meshwork/protocol";
import { typeUrls, type ComputedProxyConfig, type ProxyResources } from "@meshwork/proxy-core";
import { createLogger } from "@meshwork/telemetry";
import { FakeClock } from "@meshwork/testing";
import { describe, expect, it } from "vitest";
import { ControlPlaneMetrics } from "../admin/control-plane-metrics.ts";
import { DiscoveryServer } from "./discovery-server.ts";

/** Just enough of a grpc-js server stream: requests are emitted, responses collected. */
class FakeStream extends EventEmitter {
  readonly written: DiscoveryResponse[] = [];
  write(response: DiscoveryResponse): boolean {
    this.written.push(response);
    return true;
  }
  ended = false;
  end(): void {
    this.ended = true;
  }
}

function resources(bundle: string): ProxyResources {
  return { cluster: [], endpoints: [], listener: [], routeTable: [], trustBundle: [{ name: "td", body: { trustDomain: "td", rootsPem: [bundle] } }] };
}

describe("DiscoveryServer pushes", () => {
  it("reaches every proxy when there are more than one batch of them, and the newest push wins", async () => {
    const clock = new FakeClock();
    let bundle = "A";
    const server = new DiscoveryServer({
      controlPlaneId: "cp",
      compute: (): ComputedProxyConfig => ({ resources: resources(bundle), issues: [], sidecar: undefined }),
      isReady: () => true,
      timers: clock,
      debounce: { quietMs: 100, maxMs: 10_000 },
      logger: createLogger({ name: "test", write: () => undefined }),
      metrics: new ControlPlaneMetrics(),
    });
    const streams = Array.from({ length: 200 }, () => new FakeStream());
    streams.forEach((stream, i) => {
      server.service.streamConfig(stream as unknown as ServerDuplexStream<DiscoveryRequest, DiscoveryResponse>);
      const node = { id: `p${i}`, workload: "", namespace: "default", serviceAccount: "", labels: {}, version: "", kind: "sidecar" };
      stream.emit("data", { node, typeUrl: typeUrls.trustBundle, versionInfo: "", responseNonce: "", errorDetail: undefined });
    });
    expect(streams.every((s) => s.written.length === 1)).toBe(true);

    bundle = "B";
    server.changed();
    clock.advance(100);
    bundle = "C";
    server.changed();
    clock.advance(100);
    for (let i = 0; i < 20 && !streams.every((s) => s.written.length >= 2); i++) await new Promise((resolve) => setImmediate(resolve));
    const last = (s: FakeStream) => JSON.parse(s.written.at(-1)?.resources[0]?.body.toString() ?? "{}") as { rootsPem: string[] };
    expect(streams.map((s) => last(s).rootsPem[0])).toEqual(streams.map(() => "C"));
    expect(server.status().filter((s) => s.state === "STALE")).toHaveLength(200);
    server.close();
  });
});
