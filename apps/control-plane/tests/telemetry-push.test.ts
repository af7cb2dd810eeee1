// A Telemetry change reaches the proxies it applies to: startControlPlane on a watched directory
// (real files, real gRPC) with DiscoveryClient as two proxies. Editing the workload Telemetry pushes
// a new inbound listener carrying the resolved telemetry to the proxy it selects; the other proxy
// keeps the mesh-wide settings and gets no new listener version.
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { NamedResource, ResolvedTelemetry } from "@meshwork/proxy-core";
import { createLogger } from "@meshwork/telemetry";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DiscoveryClient } from "@meshwork/protocol";
import { startControlPlane, type RunningControlPlane } from "../src/start-control-plane.ts";
import { eventually } from "./support/run-process.ts";
import { testControlPlaneConfig } from "./support/test-config.ts";

const telemetry = (percent: number) => `apiVersion: telemetry.istio.io/v1
kind: Telemetry
metadata: {name: mesh-default, namespace: istio-system}
spec:
  accessLogging:
  - providers: [{name: envoy}]
---
apiVersion: telemetry.istio.io/v1
kind: Telemetry
metadata: {name: reviews, namespace: default}
spec:
  selector: {matchLabels: {app: reviews}}
  tracing:
  - randomSamplingPercentage: ${percent}
`;

let dir = "";
let running: RunningControlPlane;
const stops: (() => Promise<void> | void)[] = [];

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "meshwork-cp-telemetry-"));
  await writeFile(join(dir, "telemetry.yaml"), telemetry(10));
  running = await startControlPlane(testControlPlaneConfig({ id: "cp-telemetry", configDir: dir }), {
    logger: createLogger({ name: "cp", write: () => undefined }),
    onStop: (_name, hook) => void stops.push(hook),
    processMetrics: false,
  });
});

afterAll(async () => {
  for (const stop of stops.reverse()) await stop();
  await rm(dir, { recursive: true, force: true });
});

function telemetryOf(resources: readonly NamedResource[] | undefined): ResolvedTelemetry | undefined {
  const inbound = resources?.find((r) => r.name === "inbound") as NamedResource<"listener"> | undefined;
  return inbound?.body.type === "inbound" ? inbound.body.telemetry : undefined;
}

const proxy = (id: string, app: string) =>
  new DiscoveryClient({
    addresses: [`127.0.0.1:${running.grpcPort}`],
    node: { id, workload: "", namespace: "default", serviceAccount: "default", labels: { app }, version: "test", kind: "sidecar" },
    apply: () => undefined,
  });

describe("Telemetry push", { timeout: 30_000 }, () => {
  it("pushes an edited Telemetry to the proxy it selects and leaves the others' listeners alone", async () => {
    const reviews = proxy("reviews-1", "reviews");
    const ratings = proxy("ratings-1", "ratings");
    reviews.start();
    ratings.start();
    try {
      const sampling = (client: DiscoveryClient) => telemetryOf(client.accepted.get("listener")?.resources)?.client.tracing?.samplingPercent;
      await eventually("the first telemetry", async () => (sampling(reviews) === 10 ? true : undefined));
      await eventually("the mesh telemetry of ratings", async () => (telemetryOf(ratings.accepted.get("listener")?.resources)?.sources.join() === "istio-system/mesh-default" ? true : undefined));
      expect(telemetryOf(reviews.accepted.get("listener")?.resources)).toMatchObject({ sources: ["istio-system/mesh-default", "default/reviews"], server: { accessLog: { enabled: true } } });
      const ratingsVersion = ratings.accepted.get("listener")?.version;

      await writeFile(join(dir, "telemetry.yaml"), telemetry(100));
      await eventually("the edited telemetry", async () => (sampling(reviews) === 100 ? true : undefined));
      expect(ratings.accepted.get("listener")?.version).toBe(ratingsVersion);
      expect(sampling(ratings)).toBeUndefined();
    } finally {
      reviews.close();
      ratings.close();
    }
  });
});
