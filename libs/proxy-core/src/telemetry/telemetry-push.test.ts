// The resolved Telemetry travels in the pushed inbound listener: the control plane's compiler puts
// it there per proxy, recomputes it when a Telemetry that can apply changes (and only then), and
// the sidecar assembles the same telemetry buildProxyConfig computes in standalone mode.
import { loadResources, type MeshResource } from "@meshwork/config";
import { describe, expect, it } from "vitest";
import { buildProxyConfig } from "../build-proxy-config.ts";
import { assembleProxyConfig } from "../proxy-model/assemble-proxy-config.ts";
import { ProxyCompiler } from "../proxy-model/compute-proxy-config.ts";
import type { ProxyNode, ProxyResources } from "../proxy-model/proxy-resources.ts";

const mesh = { domainSuffix: "cluster.local", rootNamespace: "istio-system", trustDomain: "cluster.local" };
const catalog = { instances: [] };
const node: ProxyNode = { id: "reviews-1.shop", workload: "", namespace: "shop", serviceAccount: "default", labels: { app: "reviews" }, version: "t", kind: "sidecar" };

function telemetry(name: string, namespace: string, spec: string): MeshResource {
  const { resources, issues } = loadResources([{ path: `${name}.yaml`, text: `apiVersion: telemetry.istio.io/v1\nkind: Telemetry\nmetadata: {name: ${name}, namespace: ${namespace}}\nspec:\n${spec}` }]);
  expect(issues).toEqual([]);
  return resources[0] as MeshResource;
}

const inbound = (resources: ProxyResources) => resources.listener.find((l) => l.name === "inbound");

describe("Telemetry in the pushed config", () => {
  const meshLogs = telemetry("mesh", "istio-system", "  accessLogging:\n  - providers: [{name: envoy}]\n");
  const sampling = (percent: number) => telemetry("reviews", "shop", `  selector: {matchLabels: {app: reviews}}\n  tracing:\n  - randomSamplingPercentage: ${percent}\n`);

  it("puts the proxy's resolved telemetry in its inbound listener, as buildProxyConfig resolves it", () => {
    const resources = [meshLogs, sampling(100)];
    const computed = new ProxyCompiler({ revision: "1", resources, mesh, trustBundles: [] }, catalog).compile(node);
    const body = inbound(computed.resources)?.body;
    expect(body).toMatchObject({ type: "inbound", telemetry: { sources: ["istio-system/mesh", "shop/reviews"], client: { accessLog: { enabled: true }, tracing: { samplingPercent: 100 } } } });
    const wire = JSON.parse(JSON.stringify(computed.resources)) as ProxyResources;
    const assembled = assembleProxyConfig(wire, { namespace: "shop", domainSuffix: "cluster.local", version: "x" }).config.telemetry;
    const standalone = buildProxyConfig(resources, { namespace: "shop", domainSuffix: "cluster.local", proxyLabels: node.labels, version: "x" }).config.telemetry;
    expect(assembled).toEqual(standalone);
    expect(assembled?.server.tracing?.samplingPercent).toBe(100);
  });

  it("leaves the inbound listener without telemetry when none applies", () => {
    const other = telemetry("elsewhere", "payments", "  accessLogging:\n  - disabled: true\n");
    const computed = new ProxyCompiler({ revision: "1", resources: [other], mesh, trustBundles: [] }, catalog).compile(node);
    expect(inbound(computed.resources)?.body).not.toHaveProperty("telemetry");
    expect(assembleProxyConfig(computed.resources, { namespace: "shop", domainSuffix: "cluster.local", version: "x" }).config.telemetry).toBeUndefined();
  });

  it("recompiles the inbound listener when an applicable Telemetry changes, and keeps it when another namespace's does", () => {
    const other = (disabled: boolean) => telemetry("elsewhere", "payments", `  accessLogging:\n  - disabled: ${String(disabled)}\n`);
    const workload = sampling(10);
    const first = new ProxyCompiler({ revision: "1", resources: [meshLogs, workload, other(true)], mesh, trustBundles: [] }, catalog);
    const before = inbound(first.compile(node).resources);
    const unrelated = new ProxyCompiler({ revision: "2", resources: [meshLogs, workload, other(false)], mesh, trustBundles: [] }, catalog, first);
    expect(inbound(unrelated.compile(node).resources)).toBe(before);
    const changed = new ProxyCompiler({ revision: "3", resources: [meshLogs, sampling(50), other(false)], mesh, trustBundles: [] }, catalog, unrelated);
    const after = inbound(changed.compile(node).resources);
    expect(after).not.toBe(before);
    expect(after?.body).toMatchObject({ telemetry: { client: { tracing: { samplingPercent: 50 } } } });
  });
});
