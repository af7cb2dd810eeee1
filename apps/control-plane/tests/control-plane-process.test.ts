// The real control plane as a child process against a real 3-node registry (three child
// processes), with DiscoveryClient as the proxy: the catalog and config come from the registry,
// a VirtualService applied through the API reaches the proxy, a config the proxy rejects (NACK)
// leaves it on its last good version, an invalid resource is refused before anything is written,
// and SIGTERM ends the process cleanly.
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { NamedResource, ResourceType } from "@meshwork/proxy-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DiscoveryClient, type DiscoveryClientEvent } from "@meshwork/protocol";
import { eventually, freePort, runProcess, type Run } from "./support/run-process.ts";

const appRoot = join(import.meta.dirname, "..");
const registryRoot = join(import.meta.dirname, "../../registry");
const runs: Run[] = [];
let dir = "";
let registryHttp: string[] = [];
let registryGrpc: string[] = [];
let controlPlane: Run;
let adminUrl = "";
let grpcAddress = "";

const reviewsRoute = (subset: string) => `apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: reviews, namespace: default}
spec:
  hosts: [reviews]
  http:
  - route:
    - destination: {host: reviews, subset: ${subset}}
`;
const reviewsRule = `apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: {name: reviews, namespace: default}
spec:
  host: reviews
  subsets:
  - {name: v1, labels: {version: v1}}
  - {name: v2, labels: {version: v2}}
`;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "meshwork-cp-"));
  const ids = ["n1", "n2", "n3"];
  const raftPorts = await Promise.all(ids.map(() => freePort()));
  const peers = ids.map((id, k) => `${id}=127.0.0.1:${raftPorts[k]}`).join(",");
  const registries = ids.map((id, k) =>
    runProcess(registryRoot, ["--node-id", id, "--peers", peers, "--data-dir", join(dir, id), "--raft-port", String(raftPorts[k]), "--http-port", "0", "--admin-port", "0", "--dns-port", "0", "--grpc-port", "0", "--tick-ms", "20"]),
  );
  runs.push(...registries);
  const ready = await Promise.all(registries.map((r) => r.waitForLine("ready")));
  registryHttp = ready.map((l) => `http://127.0.0.1:${String(l["httpPort"])}`);
  registryGrpc = ready.map((l) => `127.0.0.1:${String(l["grpcPort"])}`);
  // The registry elects a leader; a catalog write through any server succeeds once it has one.
  for (const [id, version, address] of [["reviews-v1", "v1", "10.0.0.31"], ["reviews-v2", "v2", "10.0.0.32"], ["productpage-v1", "v1", "10.0.0.10"]] as const) {
    const service = id.split("-")[0];
    await eventually(`registering ${id}`, async () => {
      const response = await fetch(`${registryHttp[0]}/v1/catalog/register`, {
        method: "PUT",
        body: JSON.stringify({ Node: `node-${id}`, Address: address, Service: { ID: id, Service: service, Address: address, Port: 9080, Meta: { app: service, version } } }),
      });
      return response.status === 200 ? true : undefined;
    });
  }
  controlPlane = runProcess(appRoot, ["--id", "cp-1", "--grpc-port", "0", "--admin-port", "0", "--registry-grpc", registryGrpc.join(","), "--registry-http", registryHttp.join(","), "--debounce-ms", "20"]);
  runs.push(controlPlane);
  const listening = await controlPlane.waitForLine("listening");
  adminUrl = `http://127.0.0.1:${String(listening["adminPort"])}`;
  grpcAddress = `127.0.0.1:${String(listening["grpcPort"])}`;
  await eventually("control plane ready", async () => ((await fetch(`${adminUrl}/ready`)).status === 200 ? true : undefined));
}, 90_000);

afterAll(async () => {
  for (const run of runs) run.kill("SIGKILL");
  await Promise.all(runs.map((r) => r.exit));
  if (dir !== "") await rm(dir, { recursive: true, force: true });
});

function startProxy(reject?: (type: ResourceType, resources: readonly NamedResource[]) => string | undefined) {
  const events: DiscoveryClientEvent[] = [];
  const client = new DiscoveryClient({
    addresses: [grpcAddress],
    node: { id: "productpage-v1.default", workload: "productpage-v1", namespace: "default", serviceAccount: "bookinfo-productpage", labels: { app: "productpage", version: "v1" }, version: "test", kind: "sidecar" },
    apply: (type, resources) => reject?.(type, resources),
    onEvent: (e) => events.push(e),
  });
  client.start();
  return { client, events };
}

async function apply(yaml: string): Promise<{ status: number; body: Record<string, unknown> }> {
  const response = await fetch(`${adminUrl}/api/v1/config`, { method: "POST", body: yaml });
  return { status: response.status, body: (await response.json()) as Record<string, unknown> };
}

function routeSubsets(resources: readonly NamedResource[] | undefined): string[] {
  const table = resources?.find((r) => r.name === "mesh") as NamedResource<"routeTable"> | undefined;
  return (table?.body.virtualServices ?? []).flatMap((vs) => (vs.spec.http ?? []).flatMap((h) => (h.route ?? []).map((d) => d.destination.subset ?? "")));
}

describe("the control-plane process", { timeout: 60_000 }, () => {
  it("pushes the registry catalog, then a VirtualService applied through the API", async () => {
    const proxy = startProxy();
    try {
      const endpoints = await eventually("endpoints from the catalog", async () => {
        const list = proxy.client.accepted.get("endpoints")?.resources as NamedResource<"endpoints">[] | undefined;
        const reviews = list?.find((r) => r.name === "outbound|9080||reviews.default.svc.cluster.local");
        return reviews !== undefined && reviews.body.endpoints.length === 2 ? reviews : undefined;
      });
      expect(endpoints.body.endpoints.map((e) => e.address).sort()).toEqual(["10.0.0.31:9080", "10.0.0.32:9080"]);

      const applied = await apply(`${reviewsRule}---\n${reviewsRoute("v2")}`);
      expect(applied.status).toBe(200);
      expect(applied.body["applied"]).toEqual([
        { kind: "DestinationRule", namespace: "default", name: "reviews", key: "meshwork/config/DestinationRule/default/reviews" },
        { kind: "VirtualService", namespace: "default", name: "reviews", key: "meshwork/config/VirtualService/default/reviews" },
      ]);
      await eventually("the route to v2 on the proxy", async () => (routeSubsets(proxy.client.accepted.get("routeTable")?.resources).includes("v2") ? true : undefined));
      const clusters = proxy.client.accepted.get("cluster")?.resources.map((r) => r.name) ?? [];
      expect(clusters).toContain("outbound|9080|v2|reviews.default.svc.cluster.local");

      const syncz = await eventually("SYNCED in /debug/syncz", async () => {
        const list = (await (await fetch(`${adminUrl}/debug/syncz`)).json()) as { proxy: string; state: string }[];
        return list.find((p) => p.proxy === "productpage-v1.default" && p.state === "SYNCED");
      });
      expect(syncz.state).toBe("SYNCED");
      const dump = (await (await fetch(`${adminUrl}/debug/config_dump?proxy=productpage-v1.default&format=text`)).text()).split("\n");
      expect(dump).toContain("routes mesh gateway=mesh vs=[default/reviews] dr=[default/reviews]");
    } finally {
      proxy.client.close();
    }
  });

  it("refuses an invalid resource before writing anything, with its line and field", async () => {
    const refused = await apply(reviewsRoute("v1").replace("  - route:", "  - timeout: soon\n    route:"));
    expect(refused.status).toBe(400);
    expect(String((refused.body["messages"] as string[])[0])).toMatch(/^<request>:7:\d+: .*soon/);
    const current = (await (await fetch(`${adminUrl}/api/v1/config/VirtualService/default/reviews`)).json()) as { resources: { spec: { http: { timeout?: number }[] } }[] };
    expect(current.resources[0]?.spec.http[0]?.timeout).toBeUndefined();
  });

  it("keeps a proxy on its last good routes when it NACKs, and reports NACKED", async () => {
    const proxy = startProxy((type, resources) => (type === "routeTable" && routeSubsets(resources).includes("v1") ? "route to v1 refused by this proxy" : undefined));
    try {
      await eventually("the v2 routes", async () => (routeSubsets(proxy.client.accepted.get("routeTable")?.resources).includes("v2") ? true : undefined));
      const good = proxy.client.accepted.get("routeTable")?.version;
      expect((await apply(reviewsRoute("v1"))).status).toBe(200);
      const nack = await eventually("a NACK in /debug/syncz", async () => {
        const list = (await (await fetch(`${adminUrl}/debug/syncz`)).json()) as { proxy: string; state: string; types: { routeTable?: { nackError?: string; ackedVersion: string } } }[];
        return list.find((p) => p.proxy === "productpage-v1.default" && p.state === "NACKED");
      });
      expect(nack.types.routeTable?.nackError).toBe("route to v1 refused by this proxy");
      expect(nack.types.routeTable?.ackedVersion).toBe(good);
      expect(proxy.client.accepted.get("routeTable")?.version).toBe(good);
      const metrics = await (await fetch(`${adminUrl}/metrics`)).text();
      expect(metrics).toMatch(/^pilot_total_xds_rejects\{type="routeTable"\} 1$/m);
      expect(metrics).toMatch(/^pilot_xds 1$/m);
    } finally {
      proxy.client.close();
    }
  });

  it("moves a proxy to another replica when its replica stops (SIGTERM), with the same versions and its config kept meanwhile", async () => {
    const second = runProcess(appRoot, ["--id", "cp-2", "--grpc-port", "0", "--admin-port", "0", "--registry-grpc", registryGrpc.join(","), "--registry-http", registryHttp.join(","), "--debounce-ms", "20"]);
    runs.push(second);
    const listening = await second.waitForLine("listening");
    const secondAdmin = `http://127.0.0.1:${String(listening["adminPort"])}`;
    await eventually("the second replica ready", async () => ((await fetch(`${secondAdmin}/ready`)).status === 200 ? true : undefined));
    const events: DiscoveryClientEvent[] = [];
    const client = new DiscoveryClient({
      addresses: [grpcAddress, `127.0.0.1:${String(listening["grpcPort"])}`],
      node: { id: "reviews-v1.default", workload: "reviews-v1", namespace: "default", serviceAccount: "bookinfo-reviews", labels: { app: "reviews", version: "v1" }, version: "test", kind: "sidecar" },
      apply: () => undefined,
      backoff: { initialMs: 10, maxMs: 100 },
      onEvent: (e) => events.push(e),
    });
    client.start();
    try {
      await eventually("the full config from cp-1", async () => (client.accepted.size === 5 ? true : undefined));
      const before = new Map([...client.accepted].map(([type, a]) => [type, a.version]));
      expect(client.accepted.get("cluster")?.controlPlaneId).toBe("cp-1");

      controlPlane.kill("SIGTERM");
      expect(await controlPlane.exit).toBe(0);
      expect(controlPlane.lines().some((l) => l["msg"] === "stopped")).toBe(true);
      await eventually("the stream to end", async () => (events.some((e) => e.type === "disconnected") ? true : undefined));
      expect(client.accepted.size).toBe(5);

      await eventually("the full config from cp-2", async () => ([...client.accepted.values()].every((a) => a.controlPlaneId === "cp-2") ? true : undefined));
      expect(new Map([...client.accepted].map(([type, a]) => [type, a.version]))).toEqual(before);
      const status = (await (await fetch(`${secondAdmin}/debug/syncz`)).json()) as { proxy: string; controlPlane: string }[];
      expect(status.map((p) => `${p.proxy}@${p.controlPlane}`)).toContain("reviews-v1.default@cp-2");
    } finally {
      client.close();
    }
  });
});
