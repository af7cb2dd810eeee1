// The mesh-root publisher with the real @kubernetes/client-node against the API-server stand-in
// (tests/support/api-server-stand-in.ts, which says what it does not prove): the ConfigMap appears
// in every namespace, in new ones, comes back when deleted or edited, follows a root rotation, and
// a failed write is retried.
import { afterEach, describe, expect, it } from "vitest";
import { ApiServerStandIn, type K8sObject, standInKubeConfig } from "../../tests/support/api-server-stand-in.ts";
import { startCaRootPublisher, type CaRootPublisher } from "./start-ca-root-publisher.ts";

const namespacesPath = "/api/v1/namespaces";
const configMapsPath = "/api/v1/configmaps";
const rootA = "-----BEGIN CERTIFICATE-----\nroot-a\n-----END CERTIFICATE-----\n";
const rootB = "-----BEGIN CERTIFICATE-----\nroot-b\n-----END CERTIFICATE-----\n";
const namespace = (name: string, phase = "Active"): K8sObject => ({ apiVersion: "v1", kind: "Namespace", metadata: { name }, status: { phase } });

let standIn: ApiServerStandIn;
let publisher: CaRootPublisher | undefined;

async function start(namespaces: readonly string[]): Promise<CaRootPublisher> {
  standIn = new ApiServerStandIn();
  const server = await standIn.listen();
  for (const name of namespaces) standIn.put(namespacesPath, namespace(name));
  const kubeConfig = standInKubeConfig(server);
  publisher = startCaRootPublisher({ kubeConfig, rootCertPem: rootA, retryMs: 20, resyncMs: 0 });
  await publisher.synced;
  return publisher;
}

const rootIn = (ns: string): string | undefined => (standIn.get(configMapsPath, ns, "meshwork-ca-root-cert")?.["data"] as Record<string, string> | undefined)?.["root-cert.pem"];

/** Polls `read` until it returns `expected` (the publisher reacts to watch events asynchronously). */
async function eventually<T>(read: () => T, expected: T): Promise<void> {
  for (let attempt = 0; attempt < 200; attempt++) {
    if (JSON.stringify(read()) === JSON.stringify(expected)) return;
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  expect(read()).toEqual(expected);
}

afterEach(async () => {
  await publisher?.stop();
  publisher = undefined;
  await standIn.close();
});

describe("mesh root ConfigMap publisher (client-node against an API-server stand-in)", () => {
  it("creates meshwork-ca-root-cert with the root in every namespace but the system ones", async () => {
    await start(["default", "bookinfo", "kube-system", "kube-public"]);
    const created = standIn.get(configMapsPath, "bookinfo", "meshwork-ca-root-cert");
    expect(created).toMatchObject({ kind: "ConfigMap", metadata: { name: "meshwork-ca-root-cert", namespace: "bookinfo", labels: { "meshwork.io/config": "true" } }, data: { "root-cert.pem": rootA } });
    expect(["default", "bookinfo", "kube-system", "kube-public"].map(rootIn)).toEqual([rootA, rootA, undefined, undefined]);
    // It only watches the ConfigMaps of its name.
    expect(standIn.requests.filter((r) => r.path === configMapsPath).every((r) => r.fieldSelector === "metadata.name=meshwork-ca-root-cert")).toBe(true);
  });

  it("publishes into a namespace created later, but not into one that is terminating", async () => {
    await start(["default"]);
    standIn.put(namespacesPath, namespace("shop"));
    await eventually(() => rootIn("shop"), rootA);
    standIn.put(namespacesPath, namespace("leaving", "Terminating"));
    standIn.put(namespacesPath, namespace("after"));
    await eventually(() => rootIn("after"), rootA);
    expect(rootIn("leaving")).toBeUndefined();
  });

  it("puts the root back when the ConfigMap is deleted or edited, keeping keys others added", async () => {
    await start(["default", "bookinfo"]);
    standIn.remove(configMapsPath, "bookinfo", "meshwork-ca-root-cert");
    await eventually(() => rootIn("bookinfo"), rootA);
    const current = standIn.get(configMapsPath, "default", "meshwork-ca-root-cert") as K8sObject;
    standIn.put(configMapsPath, { ...current, data: { "root-cert.pem": "tampered", "extra.pem": "kept" } });
    await eventually(() => standIn.get(configMapsPath, "default", "meshwork-ca-root-cert")?.["data"], { "root-cert.pem": rootA, "extra.pem": "kept" });
  });

  it("follows a root rotation into every namespace", async () => {
    const running = await start(["default", "bookinfo", "shop"]);
    running.setRoot(rootA + rootB); // both roots while workloads move over
    await eventually(() => ["default", "bookinfo", "shop"].map(rootIn), [rootA + rootB, rootA + rootB, rootA + rootB]);
    const replaces = standIn.requests.filter((r) => r.method === "PUT").length;
    running.setRoot(rootA + rootB); // unchanged: no writes
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(standIn.requests.filter((r) => r.method === "PUT").length).toBe(replaces);
  });

  it("retries a namespace whose write failed", async () => {
    await start([]);
    standIn.failNext("/api/v1/namespaces/flaky/configmaps", 2, "write");
    standIn.put(namespacesPath, namespace("flaky"));
    await eventually(() => rootIn("flaky"), rootA);
    expect(standIn.requests.filter((r) => r.method === "POST" && r.path === "/api/v1/namespaces/flaky/configmaps").length).toBe(3);
  });
});
