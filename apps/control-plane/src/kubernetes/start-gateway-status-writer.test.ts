// The Gateway API status writer with the real @kubernetes/client-node, the real Kubernetes sources
// and ConfigStore, against the API-server stand-in (tests/support/api-server-stand-in.ts, which
// says what it does not prove): statuses appear, follow a route's change, nothing is written when
// nothing changed (our own writes do not loop), and a 409 Conflict is retried from a fresh read.
import { eventually } from "@meshwork/testing";
import { afterEach, describe, expect, it } from "vitest";
import { ApiServerStandIn, type K8sObject, standInKubeConfig } from "../../tests/support/api-server-stand-in.ts";
import { ConfigStore } from "../config-store/config-store.ts";
import { startKubernetesSources, type KubernetesSources } from "./kubernetes-sources.ts";
import { gatewayStatusInputReader } from "./read-gateway-status-input.ts";
import { startGatewayStatusWriter, type GatewayStatusWriter } from "./start-gateway-status-writer.ts";

const group = "/apis/gateway.networking.k8s.io/v1";
const classesPath = `${group}/gatewayclasses`;
const gatewaysPath = `${group}/gateways`;
const routesPath = `${group}/httproutes`;
const routeStatusUrl = `${group}/namespaces/infra/httproutes/shop/status`;

const gatewayClass: K8sObject = { apiVersion: "gateway.networking.k8s.io/v1", kind: "GatewayClass", metadata: { name: "istio", generation: 1 }, spec: { controllerName: "istio.io/gateway-controller" } };
const gateway: K8sObject = {
  apiVersion: "gateway.networking.k8s.io/v1",
  kind: "Gateway",
  metadata: { name: "gw", namespace: "infra", generation: 1 },
  spec: { gatewayClassName: "istio", listeners: [{ name: "http", port: 80, protocol: "HTTP", hostname: "*.example.com" }] },
};
const route = (generation: number, sectionName = "http"): K8sObject => ({
  apiVersion: "gateway.networking.k8s.io/v1",
  kind: "HTTPRoute",
  metadata: { name: "shop", namespace: "infra", generation },
  spec: { parentRefs: [{ name: "gw", sectionName }], hostnames: ["shop.example.com"], rules: [{ backendRefs: [{ name: "web", port: 8080 }] }] },
});
const service: K8sObject = { apiVersion: "v1", kind: "Service", metadata: { name: "web", namespace: "infra" }, spec: { ports: [{ port: 8080 }] } };

let standIn: ApiServerStandIn;
let sources: KubernetesSources | undefined;
let writer: GatewayStatusWriter | undefined;

async function start(options: { beforeWriter?: () => void } = {}): Promise<GatewayStatusWriter> {
  standIn = new ApiServerStandIn();
  const server = await standIn.listen();
  standIn.put(classesPath, gatewayClass);
  standIn.put(gatewaysPath, gateway);
  standIn.put(routesPath, route(1));
  standIn.put("/api/v1/services", service);
  const kubeConfig = standInKubeConfig(server);
  const store = new ConfigStore({ mesh: { domainSuffix: "cluster.local", rootNamespace: "mesh-system", trustDomain: "cluster.local" }, defaultNamespace: "default", sources: ["kubernetes"], needsCatalog: true });
  const running = startKubernetesSources({ kubeConfig, onConfig: (entries) => store.setEntries("kubernetes", entries), onCatalog: (instances) => store.setCatalog(instances), retryMs: 20, resyncMs: 0 });
  sources = running;
  await running.synced;
  options.beforeWriter?.();
  const started = startGatewayStatusWriter({ kubeConfig, read: gatewayStatusInputReader(running, store, { defaultNamespace: "default", domainSuffix: "cluster.local" }), delayMs: 5, retryMs: 20 });
  writer = started;
  store.onChange(() => started.update());
  started.update();
  return started;
}

type Conditions = { type: string; status: string; reason: string; observedGeneration: number }[];
const statusOf = (path: string, namespace: string, name: string) => standIn.get(path, namespace, name)?.["status"] as { conditions?: Conditions; listeners?: { attachedRoutes: number }[]; parents?: { conditions: Conditions }[] } | undefined;
const routeParent = () => statusOf(routesPath, "infra", "shop")?.parents?.[0]?.conditions.map((c) => `${c.type}=${c.status}/${c.reason}@${c.observedGeneration}`);
const statusWrites = () => standIn.requests.filter((r) => r.method === "PUT" && r.path.endsWith("/status")).length;

afterEach(async () => {
  await writer?.stop();
  writer = undefined;
  await sources?.stop();
  sources = undefined;
  await standIn.close();
});

describe("Gateway API status writer (client-node against an API-server stand-in)", () => {
  it("writes the class, the Gateway with its listener's attached routes, and the route's parent status", async () => {
    await start();
    await eventually("the route's parent status", () => routeParent()?.length === 2);
    expect(routeParent()).toEqual(["Accepted=True/Accepted@1", "ResolvedRefs=True/ResolvedRefs@1"]);
    await eventually("the Gateway's status", () => statusOf(gatewaysPath, "infra", "gw")?.listeners);
    expect(statusOf(gatewaysPath, "infra", "gw")?.listeners?.map((l) => l.attachedRoutes)).toEqual([1]);
    expect(statusOf(gatewaysPath, "infra", "gw")?.conditions?.map((c) => `${c.type}=${c.status}`)).toEqual(["Accepted=True", "Programmed=False"]);
    expect(statusOf(classesPath, "", "istio")?.conditions?.map((c) => `${c.type}=${c.status}/${c.reason}`)).toEqual(["Accepted=True/Accepted"]);
    // The status subresource kept what it does not own.
    expect(standIn.get(routesPath, "infra", "shop")?.["spec"]).toEqual(route(1)["spec"]);
  });

  it("follows a change of the route with the new generation", async () => {
    await start();
    await eventually("the route's parent status", () => routeParent()?.length === 2);
    standIn.put(routesPath, route(2, "nope"));
    await eventually("the changed route's status", () => routeParent()?.[0] === "Accepted=False/NoMatchingParent@2");
    await eventually("the Gateway's attached routes", () => statusOf(gatewaysPath, "infra", "gw")?.listeners?.[0]?.attachedRoutes === 0);
  });

  it("writes nothing when nothing changed, its own writes included", async () => {
    const running = await start();
    await eventually("every status", () => routeParent()?.length === 2 && statusOf(gatewaysPath, "infra", "gw") !== undefined && statusOf(classesPath, "", "istio") !== undefined);
    await running.idle();
    const writes = statusWrites();
    expect(writes).toBe(3);
    // A change that does not touch the Gateway API's objects, and a plain re-run.
    standIn.put("/api/v1/namespaces", { apiVersion: "v1", kind: "Namespace", metadata: { name: "other", labels: { team: "a" } } });
    await eventually("the namespace in the cache", () => sources?.objects("/api/v1/namespaces").length === 1);
    running.update();
    await running.idle();
    expect(statusWrites()).toBe(writes);
  });

  it("retries a write that met a 409 Conflict, from a fresh read of the object", async () => {
    await start({
      // The route moves on at the server while the watch does not say so: the cached resourceVersion is stale.
      beforeWriter: () => {
        const current = standIn.get(routesPath, "infra", "shop") as K8sObject;
        standIn.put(routesPath, { ...current, metadata: { ...current.metadata, labels: { edited: "elsewhere" } } }, true);
      },
    });
    await eventually("the route's parent status", () => routeParent()?.length === 2);
    const routeWrites = standIn.requests.filter((r) => r.method === "PUT" && r.path === routeStatusUrl);
    expect(routeWrites.length).toBe(2);
    expect(standIn.requests.some((r) => r.method === "GET" && r.path === `${group}/namespaces/infra/httproutes/shop`)).toBe(true);
    expect(standIn.get(routesPath, "infra", "shop")?.metadata.labels).toEqual({ edited: "elsewhere" });
  });
});
