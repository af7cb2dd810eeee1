// Envoy's per-cluster Prometheus series on a real sidecar (startSidecar in-process, config from a
// directory): a circuit breaker that overflows shows in envoy_cluster_upstream_rq_pending_overflow,
// requests in envoy_cluster_upstream_rq_total, membership in the gauges — labelled cluster_name as
// Istio's Envoy tags them.
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { send } from "./support/http-client.ts";
import { startTestSidecar, type TestSidecar } from "./support/mtls-sidecar.ts";
import { serviceEntryYaml, startUpstream, type UpstreamServer } from "./support/upstream-server.ts";

let root: string;
let slow: UpstreamServer;
let sidecar: TestSidecar;
const cluster = "outbound|80||svc.test";

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), "meshwork-cluster-stats-"));
  slow = await startUpstream("slow");
  slow.handle((_req, res) => setTimeout(() => res.end("slow"), 300));
  const config = join(root, "config");
  await mkdir(config);
  await writeFile(
    join(config, "mesh.yaml"),
    `${serviceEntryYaml("svc.test", 80, [slow])}---
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: { name: svc, namespace: default }
spec:
  host: svc.test
  trafficPolicy:
    connectionPool: { tcp: { maxConnections: 1 }, http: { http1MaxPendingRequests: 1, maxRequestsPerConnection: 1 } }
`,
  );
  sidecar = await startTestSidecar(["--config", config, "--inbound-port=-1"], root, "stats");
});

afterAll(async () => {
  await sidecar?.stop();
  await slow?.close();
  if (root) await rm(root, { recursive: true, force: true });
});

/** The value of `name{cluster_name="<cluster>"}` in the exposition, or undefined. */
function sample(text: string, name: string): number | undefined {
  const line = text.split("\n").find((l) => l.startsWith(`${name}{cluster_name="${cluster}"} `));
  return line === undefined ? undefined : Number(line.slice(line.lastIndexOf(" ") + 1));
}

describe("envoy_cluster_* series", () => {
  it("count overflows of the circuit breaker, requests and membership per cluster", async () => {
    const results = await Promise.all(Array.from({ length: 8 }, () => send(sidecar.port("outbound"), { host: "svc.test" })));
    const overflowed = results.filter((r) => r.status === 503).length;
    expect(overflowed).toBeGreaterThan(0);
    const text = await sidecar.metrics();
    expect(sample(text, "envoy_cluster_upstream_rq_pending_overflow")).toBe(overflowed);
    // Every request the cluster admitted (the pending-queue overflow comes after admission).
    expect(sample(text, "envoy_cluster_upstream_rq_total")).toBe(8);
    expect(sample(text, "envoy_cluster_membership_total")).toBe(1);
    expect(sample(text, "envoy_cluster_membership_healthy")).toBe(1);
    // Counters keep counting across scrapes (increase since the last scrape is added).
    await send(sidecar.port("outbound"), { host: "svc.test" });
    expect(sample(await sidecar.metrics(), "envoy_cluster_upstream_rq_total")).toBe(9);
  });
});
