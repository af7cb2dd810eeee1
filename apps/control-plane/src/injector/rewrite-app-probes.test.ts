import { describe, expect, it } from "vitest";
import { rewriteAppProbes, type ProbedContainer } from "./rewrite-app-probes.ts";

describe("rewriteAppProbes", () => {
  it("rewrites HTTP and TCP probes of every container to the status port, keeping their timing, and records the originals", () => {
    const containers: ProbedContainer[] = [
      {
        name: "web",
        ports: [{ name: "https", containerPort: 8443 }],
        livenessProbe: { httpGet: { path: "/live", port: "https", scheme: "HTTPS", httpHeaders: [{ name: "X-Probe", value: "1" }] }, periodSeconds: 7 },
        startupProbe: { tcpSocket: { port: 8443 }, timeoutSeconds: 4, failureThreshold: 30 },
      },
      { name: "worker", readinessProbe: { httpGet: { port: 9000 } } },
    ];
    const rewrite = rewriteAppProbes(containers, 15020);
    expect(rewrite.patch).toEqual([
      { op: "replace", path: "/spec/containers/0/livenessProbe", value: { periodSeconds: 7, httpGet: { path: "/app-health/web/livez", port: 15020, scheme: "HTTP" } } },
      { op: "replace", path: "/spec/containers/0/startupProbe", value: { timeoutSeconds: 4, failureThreshold: 30, httpGet: { path: "/app-health/web/startupz", port: 15020, scheme: "HTTP" } } },
      { op: "replace", path: "/spec/containers/1/readinessProbe", value: { httpGet: { path: "/app-health/worker/readyz", port: 15020, scheme: "HTTP" } } },
    ]);
    expect(rewrite.probers).toEqual({
      "/app-health/web/livez": { httpGet: { path: "/live", port: 8443, scheme: "HTTPS", httpHeaders: [{ name: "X-Probe", value: "1" }] }, timeoutSeconds: 1 },
      "/app-health/web/startupz": { tcpSocket: { port: 8443 }, timeoutSeconds: 4 },
      "/app-health/worker/readyz": { httpGet: { path: "/", port: 9000 }, timeoutSeconds: 1 },
    });
  });

  it("leaves exec and gRPC probes and probes on unknown named ports alone", () => {
    const containers: ProbedContainer[] = [
      {
        name: "app",
        livenessProbe: { exec: { command: ["true"] } },
        readinessProbe: { grpc: { port: 9090 } },
        startupProbe: { httpGet: { path: "/", port: "nope" } },
      },
    ];
    expect(rewriteAppProbes(containers, 15020)).toEqual({ patch: [], probers: {} });
  });
});
