// planInjection on the pods deploy/k8s/samples/bookinfo actually creates: every patched pod
// validates against the Kubernetes Pod schema, keeps the app's containers untouched but for their
// probes (rewritten to the sidecar's status port), and a second pass is a no-op.
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { Pod } from "kubernetes-models/v1/Pod";
import { parseAllDocuments } from "yaml";
import { describe, expect, it } from "vitest";
import type { JsonPatchOperation } from "./admission-review.ts";
import { defaultInjectionTemplate } from "./injection-template.ts";
import { planInjection } from "./plan-injection.ts";

type Json = Record<string, unknown>;
const samples = join(import.meta.dirname, "../../../../deploy/k8s/samples/bookinfo");

function bookinfoPods(): { name: string; pod: Json }[] {
  const pods: { name: string; pod: Json }[] = [];
  for (const file of readdirSync(samples).filter((f) => f.endsWith(".yaml"))) {
    for (const document of parseAllDocuments(readFileSync(join(samples, file), "utf8"))) {
      const object = document.toJS() as { kind?: string; metadata: { name: string }; spec: { template: { metadata: Json; spec: Json } } } | null;
      if (object?.kind !== "Deployment") continue;
      pods.push({ name: object.metadata.name, pod: { apiVersion: "v1", kind: "Pod", metadata: { ...object.spec.template.metadata, generateName: `${object.metadata.name}-` }, spec: object.spec.template.spec } });
    }
  }
  return pods;
}

function applyAdds(document: Json, operations: readonly JsonPatchOperation[]): Json {
  const copy = structuredClone(document);
  for (const operation of operations) {
    const segments = operation.path.split("/").slice(1).map((s) => s.replaceAll("~1", "/").replaceAll("~0", "~"));
    const last = segments.pop() as string;
    const parent = segments.reduce<unknown>((node, segment) => (node as Json)[segment], copy);
    if (operation.op === "replace" && (parent as Json)[last] === undefined) throw new Error(`replace ${operation.path}: nothing to replace`);
    if (Array.isArray(parent) && last === "-") parent.push(operation.value);
    else (parent as Json)[last] = operation.value;
  }
  return copy;
}

describe("planInjection on the bookinfo sample", () => {
  const pods = bookinfoPods();

  it("finds the six bookinfo workloads", () => {
    expect(pods.map((p) => p.name).sort()).toEqual(["details-v1", "productpage-v1", "ratings-v1", "reviews-v1", "reviews-v2", "reviews-v3"]);
  });

  it.each(pods.map((p) => [p.name, p.pod] as const))("injects %s into a valid Pod, once", (_name, pod) => {
    const plan = planInjection(pod, defaultInjectionTemplate);
    if (plan.type !== "inject") throw new Error(`expected an injection, got ${JSON.stringify(plan)}`);
    const patched = applyAdds(pod, plan.patch);
    expect(() => new Pod(patched).validate()).not.toThrow();
    const containers = (patched["spec"] as { containers: Json[] }).containers;
    const original = (pod["spec"] as { containers: Json[] }).containers[0] as Json;
    const name = original["name"] as string;
    expect(containers[0]).toEqual({
      ...original,
      livenessProbe: { ...(original["livenessProbe"] as Json), httpGet: { path: `/app-health/${name}/livez`, port: 15020, scheme: "HTTP" } },
      readinessProbe: { ...(original["readinessProbe"] as Json), httpGet: { path: `/app-health/${name}/readyz`, port: 15020, scheme: "HTTP" } },
    });
    expect(containers.map((c) => c["name"])).toContain("meshwork-proxy");
    expect(planInjection(patched, defaultInjectionTemplate)).toMatchObject({ type: "skip" });
  });

  it("rejects what is not a pod and a pod that uses a reserved volume name", () => {
    expect(planInjection({ kind: "Service", spec: {} }, defaultInjectionTemplate)).toMatchObject({ type: "reject" });
    const pod = { metadata: {}, spec: { containers: [{ name: "a", image: "x:1" }], volumes: [{ name: "meshwork-token", emptyDir: {} }] } };
    expect(planInjection(pod, defaultInjectionTemplate)).toEqual({ type: "reject", message: expect.stringMatching(/volume name "meshwork-token" is reserved.*rename the volume/) });
  });
});

describe("planInjection with the Workload API annotation", () => {
  const pod = (annotations: Record<string, string>): Json => ({
    apiVersion: "v1",
    kind: "Pod",
    metadata: { name: "app", annotations },
    spec: { containers: [{ name: "app", image: "app:1", volumeMounts: [{ name: "meshwork-workload-socket", mountPath: "/run/spiffe" }] }] },
  });
  const sidecarOf = (patched: Json): Json => (patched["spec"] as { containers: Json[] }).containers.find((c) => c["name"] === "meshwork-proxy") as Json;

  it('serves the socket in a volume the app mounts when sidecar.meshwork.io/workloadApi is "true"', () => {
    const plan = planInjection(pod({ "sidecar.meshwork.io/workloadApi": "true" }), defaultInjectionTemplate);
    if (plan.type !== "inject") throw new Error(`expected an injection, got ${JSON.stringify(plan)}`);
    const patched = applyAdds(pod({ "sidecar.meshwork.io/workloadApi": "true" }), plan.patch);
    expect(() => new Pod(patched).validate()).not.toThrow();
    const volumes = (patched["spec"] as { volumes: Json[] }).volumes;
    expect(volumes).toContainEqual({ name: "meshwork-workload-socket", emptyDir: { medium: "Memory", sizeLimit: "1Mi" } });
    const sidecar = sidecarOf(patched);
    expect(sidecar["env"]).toContainEqual({ name: "MESHWORK_WORKLOAD_API_SOCKET", value: "/var/run/secrets/workload-spiffe-uds/socket" });
    expect(sidecar["volumeMounts"]).toContainEqual({ name: "meshwork-workload-socket", mountPath: "/var/run/secrets/workload-spiffe-uds" });
    const status = JSON.parse(((patched["metadata"] as Json)["annotations"] as Record<string, string>)["sidecar.meshwork.io/status"] as string) as { volumes: string[] };
    expect(status.volumes).toContain("meshwork-workload-socket");
  });

  it("adds neither the volume nor the socket without it", () => {
    const plan = planInjection(pod({}), defaultInjectionTemplate);
    if (plan.type !== "inject") throw new Error(`expected an injection, got ${JSON.stringify(plan)}`);
    const patched = applyAdds(pod({}), plan.patch);
    expect((patched["spec"] as { volumes: Json[] }).volumes.map((v) => v["name"])).not.toContain("meshwork-workload-socket");
    expect((sidecarOf(patched)["env"] as Json[]).map((e) => e["name"])).not.toContain("MESHWORK_WORKLOAD_API_SOCKET");
  });
});

describe("planInjection with DNS capture (proxy.istio.io/config proxyMetadata)", () => {
  const pod = (annotations: Record<string, string>): Json => ({ apiVersion: "v1", kind: "Pod", metadata: { name: "app", annotations }, spec: { containers: [{ name: "app", image: "app:1" }] } });
  const injected = (annotations: Record<string, string>, template = defaultInjectionTemplate): { rules: string; env: Json[] } => {
    const plan = planInjection(pod(annotations), template);
    if (plan.type !== "inject") throw new Error(`expected an injection, got ${JSON.stringify(plan)}`);
    const patched = applyAdds(pod(annotations), plan.patch);
    expect(() => new Pod(patched).validate()).not.toThrow();
    const spec = patched["spec"] as { containers: Json[]; initContainers: Json[] };
    const init = spec.initContainers.find((c) => c["name"] === "meshwork-init") as { env: { value: string }[] };
    const sidecar = spec.containers.find((c) => c["name"] === "meshwork-proxy") as { env: Json[] };
    return { rules: init.env[0]?.value ?? "", env: sidecar.env };
  };
  const dnsAnnotation = { "proxy.istio.io/config": 'proxyMetadata:\n  ISTIO_META_DNS_CAPTURE: "true"\n  ISTIO_META_DNS_AUTO_ALLOCATE: "true"\n' };

  it("adds the port-53 redirects to the capture rules and the metadata to the sidecar's environment", () => {
    const { rules, env } = injected(dnsAnnotation);
    expect(rules).toContain("-A OUTPUT -p udp --dport 53 -j MESHWORK_OUTPUT_DNS\n");
    expect(rules).toContain("-A MESHWORK_OUTPUT_DNS -p udp -j REDIRECT --to-ports 15053\n");
    expect(rules).toContain("-A MESHWORK_OUTPUT_DNS -m owner --uid-owner 1337 -j RETURN\n");
    expect(env).toContainEqual({ name: "ISTIO_META_DNS_CAPTURE", value: "true" });
    expect(env).toContainEqual({ name: "ISTIO_META_DNS_AUTO_ALLOCATE", value: "true" });
  });

  it("takes the mesh default (InjectionTemplate.proxyMetadata), which a pod's annotation overrides key by key", () => {
    const mesh = { ...defaultInjectionTemplate, proxyMetadata: { ISTIO_META_DNS_CAPTURE: "true", OTHER: "x" } };
    expect(injected({}, mesh).rules).toContain("REDIRECT --to-ports 15053");
    const optedOut = injected({ "proxy.istio.io/config": '{"proxyMetadata": {"ISTIO_META_DNS_CAPTURE": "false"}}' }, mesh);
    expect(optedOut.rules).not.toContain("15053");
    expect(optedOut.env).toContainEqual({ name: "ISTIO_META_DNS_CAPTURE", value: "false" });
    expect(optedOut.env).toContainEqual({ name: "OTHER", value: "x" });
  });

  it("captures no DNS without it", () => {
    const { rules, env } = injected({ "proxy.istio.io/config": "concurrency: 2\n" });
    expect(rules).not.toMatch(/--dport 53|15053/);
    expect(env.map((e) => e["name"])).not.toContain("ISTIO_META_DNS_CAPTURE");
  });

  it("rejects an annotation that is not a ProxyConfig, and DNS capture with port 53 excluded, naming the annotation", () => {
    expect(planInjection(pod({ "proxy.istio.io/config": "proxyMetadata: [a]" }), defaultInjectionTemplate)).toEqual({ type: "reject", message: expect.stringMatching(/^annotation proxy\.istio\.io\/config: proxyMetadata must map variable names to values/) });
    expect(planInjection(pod({ "proxy.istio.io/config": "proxyMetadata: {\"BAD NAME\": x}" }), defaultInjectionTemplate)).toEqual({ type: "reject", message: expect.stringMatching(/key "BAD NAME" is not an environment variable name/) });
    expect(planInjection(pod({ "proxy.istio.io/config": "proxyMetadata: {a: [" }), defaultInjectionTemplate)).toEqual({ type: "reject", message: expect.stringMatching(/^annotation proxy\.istio\.io\/config: not YAML/) });
    expect(planInjection(pod({ ...dnsAnnotation, "traffic.sidecar.meshwork.io/excludeOutboundPorts": "53" }), defaultInjectionTemplate)).toEqual({ type: "reject", message: expect.stringMatching(/excludeOutboundPorts has 53 while DNS capture is on/) });
  });
});

describe("planInjection of a pod with several ports (one inbound listener per captured port)", () => {
  const pod = (annotations: Record<string, string>): Json => ({
    apiVersion: "v1",
    kind: "Pod",
    metadata: { name: "multi", annotations },
    spec: {
      containers: [
        { name: "web", image: "web:1", ports: [{ name: "http", containerPort: 9443 }, { name: "metrics", containerPort: 9080 }, { name: "dns", containerPort: 5353, protocol: "UDP" }] },
        { name: "db", image: "db:1", ports: [{ name: "tcp-db", containerPort: 5432 }] },
      ],
    },
  });
  const injected = (annotations: Record<string, string>): { rules: string[]; env: Json[] } => {
    const plan = planInjection(pod(annotations), defaultInjectionTemplate);
    if (plan.type !== "inject") throw new Error(`expected an injection, got ${JSON.stringify(plan)}`);
    const patched = applyAdds(pod(annotations), plan.patch);
    expect(() => new Pod(patched).validate()).not.toThrow();
    const spec = patched["spec"] as { containers: Json[]; initContainers: Json[] };
    const init = spec.initContainers.find((c) => c["name"] === "meshwork-init") as { env: { value: string }[] };
    const sidecar = spec.containers.find((c) => c["name"] === "meshwork-proxy") as { env: Json[] };
    return { rules: (init.env[0]?.value ?? "").split("\n"), env: sidecar.env };
  };
  const inboundRules = (rules: string[]): string[] => rules.filter((line) => line.startsWith("-A MESHWORK_INBOUND ") && !line.endsWith("-j RETURN"));

  it("redirects each TCP container port to its own listener and tells the sidecar the map; other ports still go to 15006", () => {
    const { rules, env } = injected({});
    expect(inboundRules(rules)).toEqual([
      "-A MESHWORK_INBOUND -p tcp --dport 5432 -j REDIRECT --to-ports 15100",
      "-A MESHWORK_INBOUND -p tcp --dport 9080 -j REDIRECT --to-ports 15101",
      "-A MESHWORK_INBOUND -p tcp --dport 9443 -j REDIRECT --to-ports 15102",
      "-A MESHWORK_INBOUND -p tcp -j MESHWORK_IN_REDIRECT",
    ]);
    expect(env).toContainEqual({ name: "MESHWORK_INBOUND_PORT_MAP", value: "5432:15100,9080:15101,9443:15102" });
    // The first TCP container port is still the default application port (plain text on 15006).
    expect(env).toContainEqual({ name: "MESHWORK_APP_PORT", value: "9443" });
  });

  it("leaves the ports excludeInboundPorts names out of the map", () => {
    const { rules, env } = injected({ "traffic.sidecar.meshwork.io/excludeInboundPorts": "5432" });
    expect(inboundRules(rules)).toEqual([
      "-A MESHWORK_INBOUND -p tcp --dport 9080 -j REDIRECT --to-ports 15100",
      "-A MESHWORK_INBOUND -p tcp --dport 9443 -j REDIRECT --to-ports 15101",
      "-A MESHWORK_INBOUND -p tcp -j MESHWORK_IN_REDIRECT",
    ]);
    expect(rules).toContain("-A MESHWORK_INBOUND -p tcp --dport 5432 -j RETURN");
    expect(env).toContainEqual({ name: "MESHWORK_INBOUND_PORT_MAP", value: "9080:15100,9443:15101" });
  });

  it("with includeInboundPorts captures only the listed ports: container ports to their listeners, others to 15006; \"\" captures none", () => {
    const listed = injected({ "traffic.sidecar.meshwork.io/includeInboundPorts": "9443, 7070" });
    expect(inboundRules(listed.rules)).toEqual(["-A MESHWORK_INBOUND -p tcp --dport 9443 -j REDIRECT --to-ports 15100", "-A MESHWORK_INBOUND -p tcp --dport 7070 -j MESHWORK_IN_REDIRECT"]);
    expect(listed.env).toContainEqual({ name: "MESHWORK_INBOUND_PORT_MAP", value: "9443:15100" });
    const all = injected({ "traffic.sidecar.meshwork.io/includeInboundPorts": "*" });
    expect(all.env).toContainEqual({ name: "MESHWORK_INBOUND_PORT_MAP", value: "5432:15100,9080:15101,9443:15102" });
    const none = injected({ "traffic.sidecar.meshwork.io/includeInboundPorts": "" });
    expect(inboundRules(none.rules)).toEqual([]);
    expect(none.env.map((e) => e["name"])).not.toContain("MESHWORK_INBOUND_PORT_MAP");
  });

  it("rejects an includeInboundPorts that is not ports, naming the annotation", () => {
    expect(planInjection(pod({ "traffic.sidecar.meshwork.io/includeInboundPorts": "9080,http" }), defaultInjectionTemplate)).toEqual({
      type: "reject",
      message: expect.stringMatching(/^annotation traffic\.sidecar\.meshwork\.io\/includeInboundPorts: "http" is not a TCP port/),
    });
  });
});

describe("planInjection of a dual-stack pod (proxyMetadata ISTIO_DUAL_STACK)", () => {
  const pod = (annotations: Record<string, string>): Json => ({
    apiVersion: "v1",
    kind: "Pod",
    metadata: { name: "app", annotations },
    spec: { containers: [{ name: "app", image: "app:1", ports: [{ name: "http", containerPort: 9080 }] }] },
  });
  const injected = (annotations: Record<string, string>, template = defaultInjectionTemplate): { init: { command: string[]; env: { name: string; value: string }[] }; env: Json[] } => {
    const plan = planInjection(pod(annotations), template);
    if (plan.type !== "inject") throw new Error(`expected an injection, got ${JSON.stringify(plan)}`);
    const patched = applyAdds(pod(annotations), plan.patch);
    expect(() => new Pod(patched).validate()).not.toThrow();
    const spec = patched["spec"] as { containers: Json[]; initContainers: Json[] };
    const init = spec.initContainers.find((c) => c["name"] === "meshwork-init") as { command: string[]; env: { name: string; value: string }[] };
    const sidecar = spec.containers.find((c) => c["name"] === "meshwork-proxy") as { env: Json[] };
    return { init, env: sidecar.env };
  };
  const dualStack = { "proxy.istio.io/config": 'proxyMetadata: { ISTIO_DUAL_STACK: "true" }' };
  const rulesOf = (init: { env: { name: string; value: string }[] }, name: string): string | undefined => init.env.find((e) => e.name === name)?.value;

  it("pipes the IPv6 rules into ip6tables-restore after the IPv4 ones, and binds the sidecar to ::", () => {
    const { init, env } = injected({ ...dualStack, "traffic.sidecar.meshwork.io/excludeOutboundIPRanges": "169.254.169.254/32, fd00:ec2::254/128" });
    expect(init.command).toEqual(["sh", "-c", 'printf "%s" "$MESHWORK_CAPTURE_RULES" | iptables-restore --noflush && printf "%s" "$MESHWORK_CAPTURE_RULES_V6" | ip6tables-restore --noflush']);
    const v4 = rulesOf(init, "MESHWORK_CAPTURE_RULES") ?? "";
    const v6 = rulesOf(init, "MESHWORK_CAPTURE_RULES_V6") ?? "";
    expect(v4).toContain("-A MESHWORK_OUTPUT -d 169.254.169.254/32 -j RETURN\n");
    expect(v4).not.toContain("fd00:ec2::254");
    expect(v6).toContain("-A MESHWORK_OUTPUT -d fd00:ec2::254/128 -j RETURN\n");
    expect(v6).toContain("-A MESHWORK_OUTPUT -d ::1/128 -j RETURN\n");
    expect(v6).not.toMatch(/169\.254|127\.0\.0\.1/);
    // The same per-port listener in both families.
    expect(v4).toContain("-A MESHWORK_INBOUND -p tcp --dport 9080 -j REDIRECT --to-ports 15100\n");
    expect(v6).toContain("-A MESHWORK_INBOUND -p tcp --dport 9080 -j REDIRECT --to-ports 15100\n");
    expect(env).toContainEqual({ name: "MESHWORK_SIDECAR_BIND", value: "::" });
    expect(env).toContainEqual({ name: "MESHWORK_INBOUND_PORT_MAP", value: "9080:15100" });
    expect(env.map((e) => e["name"])).not.toContain("MESHWORK_DNS_BIND");
  });

  it("with DNS capture, captures IPv6 DNS too and has the DNS proxy listen on both loopbacks only (the v6 queries are redirected to ::1)", () => {
    const { init, env } = injected({ "proxy.istio.io/config": 'proxyMetadata: { ISTIO_DUAL_STACK: "true", ISTIO_META_DNS_CAPTURE: "true" }' });
    expect(rulesOf(init, "MESHWORK_CAPTURE_RULES_V6")).toContain("-A MESHWORK_OUTPUT_DNS -p udp -j REDIRECT --to-ports 15053\n");
    expect(env.filter((e) => e["name"] === "MESHWORK_DNS_BIND")).toEqual([{ name: "MESHWORK_DNS_BIND", value: "127.0.0.1,::1" }]);
    // An IPv4-only pod with DNS capture keeps the sidecar's default (127.0.0.1).
    expect(injected({ "proxy.istio.io/config": 'proxyMetadata: { ISTIO_META_DNS_CAPTURE: "true" }' }).env.map((e) => e["name"])).not.toContain("MESHWORK_DNS_BIND");
  });

  it("takes the mesh default, which a pod can turn off; off, nothing touches ip6tables and the sidecar binds 0.0.0.0", () => {
    const mesh = { ...defaultInjectionTemplate, proxyMetadata: { ISTIO_DUAL_STACK: "true" } };
    expect(rulesOf(injected({}, mesh).init, "MESHWORK_CAPTURE_RULES_V6")).toContain("::1/128");
    for (const off of [injected({ "proxy.istio.io/config": 'proxyMetadata: { ISTIO_DUAL_STACK: "false" }' }, mesh), injected({})]) {
      expect(off.init.command.join(" ")).not.toContain("ip6tables");
      expect(off.init.env.map((e) => e.name)).toEqual(["MESHWORK_CAPTURE_RULES"]);
      expect(off.env).toContainEqual({ name: "MESHWORK_SIDECAR_BIND", value: "0.0.0.0" });
    }
  });

  it("accepts IPv6 ranges without dual-stack (unused, as istio-iptables) and rejects a malformed one, naming the annotation", () => {
    expect(rulesOf(injected({ "traffic.sidecar.meshwork.io/excludeOutboundIPRanges": "fd00::/8" }).init, "MESHWORK_CAPTURE_RULES")).not.toContain("fd00::/8");
    expect(planInjection(pod({ ...dualStack, "traffic.sidecar.meshwork.io/excludeOutboundIPRanges": "fd00::1" }), defaultInjectionTemplate)).toEqual({
      type: "reject",
      message: expect.stringMatching(/^annotation traffic\.sidecar\.meshwork\.io\/excludeOutboundIPRanges: "fd00::1" is not an IPv4 or IPv6 CIDR/),
    });
  });
});
