import { copyFile, mkdir, mkdtemp, rm, symlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createClusterResolver, findRoute, type ProxyConfig, type RouteRequest } from "@meshwork/proxy-core";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { loadConfigDir, type LoadConfigDirOptions, type LoadConfigDirResult } from "./load-config-dir.ts";

/** Istio's bookinfo examples, used by path: 01 routes jason to reviews v2 and the rest to v3; 02 is a DestinationRule for my-svc. */
const examples = "/work/shared/examples";

/** Endpoints for the examples: reviews v1–v3 as WorkloadEntries, my-svc with static endpoints, and the reviews subsets. */
const endpointsYaml = `
apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata:
  name: reviews
  namespace: default
spec:
  hosts:
  - reviews.default.svc.cluster.local
  location: MESH_INTERNAL
  resolution: STATIC
  ports:
  - number: 9080
    name: http
  workloadSelector:
    labels:
      app: reviews
---
apiVersion: networking.istio.io/v1
kind: WorkloadEntry
metadata:
  name: reviews-v2
  namespace: default
spec:
  address: 10.0.0.2
  labels:
    app: reviews
    version: v2
---
apiVersion: networking.istio.io/v1
kind: WorkloadEntry
metadata:
  name: reviews-v3
  namespace: default
spec:
  address: 10.0.0.3
  labels:
    app: reviews
    version: v3
---
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata:
  name: reviews
  namespace: default
spec:
  host: reviews
  subsets:
  - name: v2
    labels:
      version: v2
  - name: v3
    labels:
      version: v3
---
apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata:
  name: my-svc
  namespace: default
spec:
  hosts:
  - my-svc.default.svc.cluster.local
  resolution: STATIC
  ports:
  - number: 80
    name: http
  endpoints:
  - address: 10.1.0.1
    labels:
      version: v1
  - address: 10.1.0.2
    labels:
      version: v2
`;

const options: LoadConfigDirOptions = { namespace: "default", domainSuffix: "cluster.local", proxyLabels: { app: "productpage" } };

let dir: string;

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), "sidecar-config-"));
});

afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** Copies the two examples and writes the endpoints: a directory like `sidecar --config` gets. */
async function writeBookinfo(target: string): Promise<void> {
  await copyFile(join(examples, "01-virtualservice-user-routing.yaml"), join(target, "01-virtualservice-user-routing.yaml"));
  await copyFile(join(examples, "02-destinationrule-subsets-lb.yaml"), join(target, "02-destinationrule-subsets-lb.yaml"));
  await writeFile(join(target, "endpoints.yml"), endpointsYaml);
}

function expectOk(result: LoadConfigDirResult): ProxyConfig {
  if (!result.ok) throw new Error(`expected a config, got:\n${result.errors.join("\n")}`);
  return result.config;
}

const request = (headers: Record<string, string>): RouteRequest => ({
  method: "GET",
  authority: "reviews:9080",
  path: "/reviews/1",
  query: "",
  scheme: "http",
  port: 9080,
  headers,
  sourceLabels: {},
  sourceNamespace: undefined,
  gateway: "mesh",
});

describe("loadConfigDir", () => {
  it("builds the proxy config from the bookinfo examples and a ServiceEntry", async () => {
    await writeBookinfo(dir);
    const result = await loadConfigDir(dir, options);
    const config = expectOk(result);
    expect(result.files.map((f) => f.slice(dir.length + 1))).toEqual(["01-virtualservice-user-routing.yaml", "02-destinationrule-subsets-lb.yaml", "endpoints.yml"]);
    expect(result.warnings).toEqual([]);
    expect([...config.clusters.keys()]).toEqual([
      "outbound|9080||reviews.default.svc.cluster.local",
      "outbound|9080|v2|reviews.default.svc.cluster.local",
      "outbound|9080|v3|reviews.default.svc.cluster.local",
      "outbound|80||my-svc.default.svc.cluster.local",
      "outbound|80|v1|my-svc.default.svc.cluster.local",
      "outbound|80|v2|my-svc.default.svc.cluster.local",
      "outbound|80|v3|my-svc.default.svc.cluster.local",
    ]);
    // 02: RANDOM at the top, ROUND_ROBIN for subset v2.
    expect(config.clusters.get("outbound|80|v1|my-svc.default.svc.cluster.local")?.balancer.type).toBe("random");
    expect(config.clusters.get("outbound|80|v2|my-svc.default.svc.cluster.local")?.balancer.type).toBe("round-robin");
    expect(config.clusters.get("outbound|80|v2|my-svc.default.svc.cluster.local")?.endpoints.map((e) => e.address)).toEqual(["10.1.0.2:80"]);

    const resolver = createClusterResolver(config);
    const clusterOf = (headers: Record<string, string>): string | undefined => {
      const decision = findRoute(config.routeTable, request(headers));
      if (decision.type !== "route" || decision.action.type !== "forward") return undefined;
      return resolver.clusterFor(decision.action.destinations[0] as never, 9080)?.name;
    };
    expect(clusterOf({ "end-user": "jason" })).toBe("outbound|9080|v2|reviews.default.svc.cluster.local");
    expect(clusterOf({})).toBe("outbound|9080|v3|reviews.default.svc.cluster.local");
  });

  it("gives the same version for the same files and another after a change", async () => {
    await writeBookinfo(dir);
    const first = expectOk(await loadConfigDir(dir, options)).version;
    expect(first).toMatch(/^sha256:[0-9a-f]{16}$/);
    expect(expectOk(await loadConfigDir(dir, options)).version).toBe(first);
    await writeFile(join(dir, "endpoints.yml"), endpointsYaml.replace("10.1.0.2", "10.1.0.3"));
    expect(expectOk(await loadConfigDir(dir, options)).version).not.toBe(first);
    expect(expectOk(await loadConfigDir(dir, { ...options, version: "r42" })).version).toBe("r42");
  });

  it("reads .json files and symlinked files; skips other names, dotfiles and subdirectories", async () => {
    await mkdir(join(dir, "nested"));
    await writeFile(join(dir, "nested", "bad.yaml"), "not: [valid");
    await writeFile(join(dir, ".swap.yaml"), "not: [valid");
    await writeFile(join(dir, "README.md"), "# notes");
    const target = join(dir, "nested", "real.yml");
    await writeFile(target, endpointsYaml);
    await symlink(target, join(dir, "linked.yml"));
    await writeFile(
      join(dir, "extra.json"),
      JSON.stringify({
        apiVersion: "networking.istio.io/v1",
        kind: "ServiceEntry",
        metadata: { name: "json-svc", namespace: "default" },
        spec: { hosts: ["json.example.com"], resolution: "DNS", ports: [{ number: 443, name: "tls", protocol: "TLS" }] },
      }),
    );
    const result = await loadConfigDir(dir, options);
    const config = expectOk(result);
    expect(result.files.map((f) => f.slice(dir.length + 1))).toEqual(["extra.json", "linked.yml"]);
    expect(config.clusters.get("outbound|443||json.example.com")?.endpoints.map((e) => e.address)).toEqual(["json.example.com:443"]);
    expect(config.services.map((s) => `${s.host}:${s.port}`)).toContain("reviews.default.svc.cluster.local:9080");
  });

  it("rejects a directory with a bad file, naming the file, line and field, and does not throw", async () => {
    await writeBookinfo(dir);
    await writeFile(
      join(dir, "03-bad.yaml"),
      [
        "apiVersion: networking.istio.io/v1",
        "kind: DestinationRule",
        "metadata:",
        "  name: broken",
        "  namespace: default",
        "spec:",
        "  host: ratings",
        "  trafficPolicy:",
        "    loadBalancer:",
        "      simple: FASTEST",
        "",
      ].join("\n"),
    );
    await writeFile(join(dir, "04-syntax.yaml"), "apiVersion: v1\nkind: [unclosed\n");
    const result = await loadConfigDir(dir, options);
    expect(result.ok).toBe(false);
    if (result.ok) return;
    const bad = result.errors.find((e) => e.includes("03-bad.yaml"));
    expect(bad).toMatch(/03-bad\.yaml:10:\d+: error MW\d+ \w+ DestinationRule default\/broken spec\.trafficPolicy\.loadBalancer\.simple: /);
    expect(bad).toContain("FASTEST");
    expect(result.errors.some((e) => e.includes("04-syntax.yaml:") && e.includes("YamlSyntax"))).toBe(true);
  });

  it("reports a missing directory as an error", async () => {
    const missing = join(dir, "nope");
    const result = await loadConfigDir(missing, options);
    expect(result).toEqual({
      ok: false,
      errors: [`${missing}: error: cannot read the config directory: no such file or directory (hint: pass an existing directory with --config)`],
      warnings: [],
      files: [],
    });
  });

  it("loads an empty directory as an empty config, with a warning", async () => {
    const result = await loadConfigDir(dir, options);
    const config = expectOk(result);
    expect(config.clusters.size).toBe(0);
    expect(result.warnings).toEqual([`${dir}: no .yaml, .yml or .json files; the proxy has no routes and no clusters`]);
  });

  it("passes on the builder's warnings: a route to a subset no DestinationRule defines", async () => {
    await writeBookinfo(dir);
    await writeFile(join(dir, "endpoints.yml"), endpointsYaml.replace("  - name: v3\n    labels:\n      version: v3\n", ""));
    const result = await loadConfigDir(dir, options);
    expectOk(result);
    expect(result.warnings.some((w) => w.includes('subset "v3" is not defined'))).toBe(true);
  });
});
