// Local-dev mode in-process: startControlPlane on a watched directory (real files, real fs.watch,
// real gRPC) with DiscoveryClient as the proxy. An edited file is pushed; a broken edit is
// rejected and the last good routes keep serving; the fix is pushed.
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { NamedResource } from "@meshwork/proxy-core";
import { createLogger } from "@meshwork/telemetry";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DiscoveryClient } from "@meshwork/protocol";
import { startControlPlane, type RunningControlPlane } from "../src/start-control-plane.ts";
import { eventually } from "./support/run-process.ts";
import { testControlPlaneConfig } from "./support/test-config.ts";

const route = (timeout: string) => `apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: {name: reviews, namespace: default}
spec:
  hosts: [reviews.default.svc.cluster.local]
  location: MESH_INTERNAL
  resolution: STATIC
  ports: [{number: 9080, name: http}]
  endpoints: [{address: 10.0.0.31}]
---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: reviews, namespace: default}
spec:
  hosts: [reviews]
  http:
  - timeout: ${timeout}
    route:
    - destination: {host: reviews}
`;

let dir = "";
let running: RunningControlPlane;
const stops: (() => Promise<void> | void)[] = [];
const logs: Record<string, unknown>[] = [];

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "meshwork-cp-dir-"));
  await writeFile(join(dir, "reviews.yaml"), route("1s"));
  running = await startControlPlane(
    testControlPlaneConfig({ id: "cp-dir", configDir: dir }),
    { logger: createLogger({ name: "cp", write: (line) => void logs.push(JSON.parse(line) as Record<string, unknown>) }), onStop: (_name, hook) => void stops.push(hook), processMetrics: false },
  );
});

afterAll(async () => {
  for (const stop of stops.reverse()) await stop();
  await rm(dir, { recursive: true, force: true });
});

function timeoutMs(resources: readonly NamedResource[] | undefined): number | undefined {
  const table = resources?.find((r) => r.name === "mesh") as NamedResource<"routeTable"> | undefined;
  return table?.body.virtualServices[0]?.spec.http?.[0]?.timeout;
}

describe("control plane on a config directory", { timeout: 30_000 }, () => {
  it("pushes file edits, rejects a broken edit keeping the last good config, then pushes the fix", async () => {
    const client = new DiscoveryClient({
      addresses: [`127.0.0.1:${running.grpcPort}`],
      node: { id: "p1", workload: "", namespace: "default", serviceAccount: "default", labels: {}, version: "test", kind: "sidecar" },
      apply: () => undefined,
    });
    client.start();
    try {
      await eventually("the first routes", async () => (timeoutMs(client.accepted.get("routeTable")?.resources) === 1_000 ? true : undefined));
      await writeFile(join(dir, "reviews.yaml"), route("2s"));
      await eventually("the edited routes", async () => (timeoutMs(client.accepted.get("routeTable")?.resources) === 2_000 ? true : undefined));

      await writeFile(join(dir, "reviews.yaml"), route("soon"));
      const rejected = await eventually("the rejection log line", async () => logs.find((l) => l["msg"] === "config rejected; the last good version keeps serving"));
      expect(rejected["key"]).toBe("reviews.yaml");
      expect(rejected["keptLastGood"]).toBe(true);
      expect(running.store.snapshot.resources.find((r) => r.kind === "VirtualService")?.spec).toMatchObject({ http: [{ timeout: 2_000 }] });
      expect(timeoutMs(client.accepted.get("routeTable")?.resources)).toBe(2_000);

      await writeFile(join(dir, "reviews.yaml"), route("3s"));
      await eventually("the fixed routes", async () => (timeoutMs(client.accepted.get("routeTable")?.resources) === 3_000 ? true : undefined));
    } finally {
      client.close();
    }
  });
});
