import { loadResources } from "@meshwork/config";
import { describe, expect, it } from "vitest";
import { defaultTopology } from "./local-mesh-topology.ts";
import { planLocalMesh } from "./plan-local-mesh.ts";

describe("planLocalMesh", () => {
  const plan = planLocalMesh(defaultTopology, "/state");

  it("runs every part once, on distinct ports, each after what it needs", () => {
    expect(plan.processes.map((p) => p.name)).toEqual([
      "registry-1", "registry-2", "registry-3", "ca", "control-plane-1", "control-plane-2", "ingress-gateway",
      "productpage-v1-sidecar", "productpage-v1", "details-v1-sidecar", "details-v1",
      "reviews-v1-sidecar", "reviews-v1", "reviews-v2-sidecar", "reviews-v2", "reviews-v3-sidecar", "reviews-v3", "ratings-v1-sidecar", "ratings-v1",
    ]);
    // Every listening port (a sidecar's --app-port is its app's --port, so it is not one of them; listeners turned off are written --outbound-port=-1).
    const ports = plan.processes.flatMap((p) => p.args.filter((_, i) => /-port$/.test(p.args[i - 1] ?? "") && p.args[i - 1] !== "--app-port"));
    expect(new Set(ports).size).toBe(ports.length);
    expect(plan.processes.find((p) => p.name === "control-plane-1")?.after).toEqual(["registry-1", "registry-2", "registry-3", "ca"]);
    expect(plan.processes.find((p) => p.name === "reviews-v2-sidecar")?.after).toEqual(["ca", "control-plane-1"]);
    expect(plan.processes.find((p) => p.name === "reviews-v2")?.after).toEqual(["reviews-v2-sidecar"]);
    const names = new Set(plan.processes.map((p) => p.name));
    for (const p of plan.processes) for (const dependency of p.after) expect(names.has(dependency)).toBe(true);
  });

  it("gives every registry server the same peer list and its own data dir under the state dir", () => {
    const registries = plan.processes.filter((p) => p.name.startsWith("registry-"));
    const peers = registries.map((p) => p.args[p.args.indexOf("--peers") + 1]);
    expect(new Set(peers).size).toBe(1);
    expect(registries.map((p) => p.args[p.args.indexOf("--data-dir") + 1])).toEqual(["/state/registry-1", "/state/registry-2", "/state/registry-3"]);
    // One gossip pool: each server joins the other two.
    const gossip = registries.map((p) => `127.0.0.1:${p.args[p.args.indexOf("--gossip-port") + 1]}`);
    registries.forEach((p, i) => expect(p.args[p.args.indexOf("--retry-join") + 1]?.split(",")).toEqual(gossip.filter((_, k) => k !== i)));
  });

  it("points each app at its own sidecar, and each sidecar at its app", () => {
    const app = plan.processes.find((p) => p.name === "reviews-v3");
    const sidecar = plan.processes.find((p) => p.name === "reviews-v3-sidecar");
    const arg = (args: readonly string[] | undefined, flag: string) => args?.[args.indexOf(flag) + 1];
    expect(arg(app?.args, "--outbound-proxy")).toBe(`http://127.0.0.1:${arg(sidecar?.args, "--outbound-port")}`);
    expect(arg(sidecar?.args, "--app-port")).toBe(arg(app?.args, "--port"));
    expect(arg(sidecar?.args, "--labels")).toBe("app=reviews,version=v3");
  });

  it("writes bookinfo's ServiceEntries and WorkloadEntries as valid Istio resources pointing at the sidecars' inbound ports", () => {
    const file = plan.files.find((f) => f.path === "config/bookinfo-services.yaml");
    const loaded = loadResources([{ path: "bookinfo-services.yaml", text: file?.text ?? "" }]);
    expect(loaded.issues).toEqual([]);
    expect(loaded.resources.map((r) => `${r.kind}/${r.metadata.name}`)).toEqual([
      "ServiceEntry/productpage", "ServiceEntry/details", "ServiceEntry/reviews", "ServiceEntry/ratings",
      "WorkloadEntry/productpage-v1", "WorkloadEntry/details-v1", "WorkloadEntry/reviews-v1", "WorkloadEntry/reviews-v2", "WorkloadEntry/reviews-v3", "WorkloadEntry/ratings-v1",
    ]);
    const entry = loaded.resources.find((r) => r.kind === "WorkloadEntry" && r.metadata.name === "reviews-v2");
    const sidecar = plan.processes.find((p) => p.name === "reviews-v2-sidecar");
    expect(entry?.kind === "WorkloadEntry" && entry.spec.ports?.["http"]).toBe(Number(sidecar?.args[sidecar.args.indexOf("--inbound-port") + 1]));
  });

  it("manages every sidecar by the control planes and gives each an identity of its own service account", () => {
    const arg = (args: readonly string[] | undefined, flag: string) => args?.[args.indexOf(flag) + 1];
    const controlPlanes = plan.processes.filter((p) => p.name.startsWith("control-plane-")).map((p) => `127.0.0.1:${arg(p.args, "--grpc-port")}`);
    const proxies = plan.processes.filter((p) => p.name.endsWith("-sidecar") || p.name === "ingress-gateway");
    expect(proxies).toHaveLength(7);
    for (const proxy of proxies) {
      expect(proxy.args).not.toContain("--config");
      expect(arg(proxy.args, "--discovery-address")).toBe(controlPlanes.join(","));
      expect(arg(proxy.args, "--workload-token-file")).toBe(proxy.workloadToken?.path);
      expect(proxy.workloadToken?.caDataDir).toBe("/state/ca");
      expect(arg(proxy.args, "--ca-root-cert")).toBe("/state/ca/root-cert.pem");
    }
    const reviews = plan.processes.find((p) => p.name === "reviews-v2-sidecar");
    expect(reviews?.workloadToken).toMatchObject({ namespace: "default", serviceAccount: "bookinfo-reviews" });
    expect(arg(reviews?.args, "--service-account")).toBe("bookinfo-reviews");
    expect(proxies.some((p) => p.args.includes("--otlp-endpoint"))).toBe(false);
    const traced = planLocalMesh({ ...defaultTopology, otlpEndpoint: "http://127.0.0.1:4318/v1/traces" }, "/state").processes.filter((p) => p.name.endsWith("-sidecar") || p.name === "ingress-gateway");
    for (const proxy of traced) expect(arg(proxy.args, "--otlp-endpoint")).toBe("http://127.0.0.1:4318/v1/traces");
    const tokens = proxies.map((p) => p.workloadToken?.path);
    expect(new Set(tokens).size).toBe(tokens.length);
  });

  it("gives every control plane its SVID from the CA, so the discovery streams are mutual TLS", () => {
    const arg = (args: readonly string[] | undefined, flag: string) => args?.[args.indexOf(flag) + 1];
    const ca = plan.processes.find((p) => p.name === "ca");
    for (const name of ["control-plane-1", "control-plane-2"]) {
      const cp = plan.processes.find((p) => p.name === name);
      expect(arg(cp?.args, "--ca-address")).toBe(`127.0.0.1:${arg(ca?.args, "--grpc-port")}`);
      expect(arg(cp?.args, "--workload-token-file")).toBe(cp?.workloadToken?.path);
      expect(cp?.workloadToken).toMatchObject({ caDataDir: "/state/ca", namespace: "istio-system", serviceAccount: "control-plane" });
    }
  });

  it("applies Istio's bookinfo gateway and destination rules through the first control plane once it is ready", () => {
    const first = plan.processes.find((p) => p.name === "control-plane-1");
    expect(first?.applyWhenReady?.url).toBe(`http://127.0.0.1:${first?.args[first.args.indexOf("--admin-port") + 1]}/api/v1/config`);
    expect(first?.applyWhenReady?.files).toEqual(["apply/bookinfo-gateway.yaml", "apply/destination-rule-all.yaml"]);
    expect(plan.processes.find((p) => p.name === "control-plane-2")?.applyWhenReady).toBeUndefined();
    const rules = loadResources([{ path: "destination-rule-all.yaml", text: plan.files.find((f) => f.path === "apply/destination-rule-all.yaml")?.text ?? "" }]);
    expect(rules.issues).toEqual([]);
    expect(rules.resources.map((r) => (r.kind === "DestinationRule" ? `${r.spec.host}:${(r.spec.subsets ?? []).map((s) => s.name).join("|")}` : r.kind))).toEqual([
      "productpage:v1", "reviews:v1|v2|v3", "ratings:v1|v2|v2-mysql|v2-mysql-vm", "details:v1|v2",
    ]);
  });

  it("puts Istio's bookinfo gateway on the topology's gateway port, served by a router-mode sidecar", () => {
    const file = plan.files.find((f) => f.path === "apply/bookinfo-gateway.yaml");
    const loaded = loadResources([{ path: "bookinfo-gateway.yaml", text: file?.text ?? "" }]);
    expect(loaded.issues).toEqual([]);
    const gateway = loaded.resources.find((r) => r.kind === "Gateway");
    expect(gateway?.kind === "Gateway" && gateway.spec.servers[0]?.port.number).toBe(defaultTopology.gatewayPort);
    const router = plan.processes.find((p) => p.name === "ingress-gateway");
    expect(router?.args.slice(0, 2)).toEqual(["--proxy-mode", "router"]);
    expect(router?.args[router.args.indexOf("--labels") + 1]).toContain("istio=ingressgateway");
    expect(router?.args[router.args.indexOf("--credential-dir") + 1]).toMatch(/\/gateway-credentials$/);
    expect(plan.urls[0]).toEqual({ label: "product page (through the ingress gateway)", url: `http://127.0.0.1:${defaultTopology.gatewayPort}/productpage` });
    const consoleUrl = plan.urls.find((u) => u.label.startsWith("console"))?.url;
    const firstControlPlane = plan.processes.find((p) => p.name === "control-plane-1");
    expect(consoleUrl).toBe(`http://127.0.0.1:${firstControlPlane?.args[firstControlPlane.args.indexOf("--admin-port") + 1]}/console/`);
    // The console reads the proxies' reports on the discovery stream (no scraping): every proxy is managed.
    const controlPlanes = plan.processes.filter((p) => p.name.startsWith("control-plane-"));
    expect(controlPlanes.flatMap((p) => p.args).filter((a) => a === "--console-scrape")).toEqual([]);
    const proxies = plan.processes.filter((p) => p.name.endsWith("-sidecar") || p.name === "ingress-gateway");
    expect(proxies).toHaveLength(7);
    for (const proxy of proxies) expect(proxy.args, proxy.name).toContain("--discovery-address");
  });

  it("gives each control plane the other replicas' admin URLs, so each console merges their proxies' reports", () => {
    const controlPlanes = plan.processes.filter((p) => p.name.startsWith("control-plane-"));
    expect(controlPlanes).toHaveLength(defaultTopology.controlPlaneReplicas);
    expect(controlPlanes.length).toBeGreaterThan(1);
    const admin = (p: (typeof controlPlanes)[number]): string => `http://127.0.0.1:${p.args[p.args.indexOf("--admin-port") + 1]}`;
    for (const cp of controlPlanes) {
      const peers = cp.args.includes("--console-peers") ? (cp.args[cp.args.indexOf("--console-peers") + 1]?.split(",") ?? []) : [];
      expect(peers, cp.name).toEqual(controlPlanes.filter((other) => other !== cp).map(admin));
    }
    // One replica has no peers to name.
    const single = planLocalMesh({ ...defaultTopology, controlPlaneReplicas: 1 }, "/state").processes.find((p) => p.name === "control-plane-1");
    expect(single?.args).not.toContain("--console-peers");
  });

  it("leaves bookinfo out when the topology says so", () => {
    const bare = planLocalMesh({ ...defaultTopology, bookinfo: false, registryServers: 1, controlPlaneReplicas: 1 }, "/state");
    expect(bare.processes.map((p) => p.name)).toEqual(["registry-1", "ca", "control-plane-1"]);
    expect(bare.files).toEqual([]);
  });
});
