// Per-port inbound capture for real: a pod with an HTTP port (9080) and a raw TCP port (9443) is
// injected by planInjection; its capture rules are applied with the real iptables-restore in a
// network namespace standing for the pod, and the real sidecar runs there with the injected
// container's environment (MESHWORK_INBOUND_PORT_MAP among it). Plain connections from another
// namespace to pod-ip:9080 and pod-ip:9443 reach the two different applications through the
// sidecar's per-port listeners, which the applications (on 127.0.0.1 only) prove: nothing else
// reaches them from outside. A captured port that is no container port still goes to 15006.
// Needs root, iproute2 and iptables (CI has them); fails saying so otherwise.
// What this does not prove: kubelet/CNI behaviour, IPv6, or the nft-vs-legacy backend of a node.
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startProcess, type StartedProcess } from "@meshwork/testing/processes";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { podNamespaces, requireRootAndTools, run } from "../../tests/support/pod-namespaces.ts";
import { defaultInjectionTemplate } from "./injection-template.ts";
import { planInjection } from "./plan-injection.ts";

const namespaces = podNamespaces({ prefix: "mw-pm", secondOctet: 253 });
const { podNs, svcNs, podIp, startIn } = namespaces;
const workspaceRoot = join(import.meta.dirname, "../../../..");
const sidecarMain = join(workspaceRoot, "apps/sidecar/src/main.ts");
let sidecar: StartedProcess | undefined;
let configDir: string | undefined;

/** Connects from inside `ns` to host:port, sends `text`, returns what came back before the close (or "timeout"/"error CODE"). */
function exchangeFrom(ns: string, host: string, port: number, text: string): string {
  const script = `
    const socket = require("node:net").connect(${port}, ${JSON.stringify(host)});
    let reply = "";
    socket.setTimeout(5000, () => { process.stdout.write(reply === "" ? "timeout" : reply); process.exit(0); });
    socket.on("connect", () => socket.write(${JSON.stringify(text)}));
    socket.on("data", (chunk) => (reply += chunk));
    socket.on("end", () => process.stdout.write(reply));
    socket.on("error", (error) => process.stdout.write("error " + error.code));`;
  return run("ip", ["netns", "exec", ns, process.execPath, "-e", script]);
}

const httpRequest = (path: string): string => `GET ${path} HTTP/1.1\r\nHost: multi.default.svc.cluster.local:9080\r\nConnection: close\r\n\r\n`;

// The pod's applications, on 127.0.0.1 only: an HTTP one on 9080 answering with its name and the
// path, a raw TCP one on 9443 answering with its name and the bytes, then closing.
const applications = `
  const http = require("node:http");
  const net = require("node:net");
  let pending = 2;
  const ready = () => { if (--pending === 0) process.stdout.write("ready\\n"); };
  http.createServer((req, res) => res.end("http-app " + req.url)).listen(9080, "127.0.0.1", ready);
  net.createServer((socket) => socket.once("data", (chunk) => socket.end("tcp-app: " + String(chunk)))).listen(9443, "127.0.0.1", ready);`;

const pod = {
  apiVersion: "v1",
  kind: "Pod",
  metadata: { name: "multi-1", labels: { app: "multi" } },
  spec: { containers: [{ name: "app", image: "multi:1", ports: [{ name: "http", containerPort: 9080 }, { name: "tcp-db", containerPort: 9443 }] }] },
};

// The Service of the pod, as the sidecar's standalone config: 9080 HTTP, 9443 raw TCP.
const serviceYaml = `apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: { name: multi, namespace: default }
spec:
  hosts: [multi.default.svc.cluster.local]
  location: MESH_INTERNAL
  resolution: STATIC
  ports: [{ number: 9080, name: http }, { number: 9443, name: tcp-db }]
  workloadSelector: { labels: { app: multi } }
`;

/** The injected init container's rules and the sidecar container's literal environment. */
function injected(): { rules: string; env: Record<string, string> } {
  const plan = planInjection(pod, defaultInjectionTemplate);
  if (plan.type !== "inject") throw new Error(`expected an injection, got ${JSON.stringify(plan)}`);
  type Container = { readonly name?: string; readonly env?: readonly { readonly name: string; readonly value?: string }[] };
  // The init container is added alone or as the whole initContainers list; the sidecar is appended to the containers.
  const containers: Container[] = plan.patch.flatMap((op) => (Array.isArray(op.value) ? (op.value as Container[]) : [op.value as Container]));
  const init = containers.find((c) => c.name === "meshwork-init");
  const proxy = containers.find((c) => c.name === "meshwork-proxy");
  const env: Record<string, string> = {};
  for (const variable of proxy?.env ?? []) if (variable.value !== undefined) env[variable.name] = variable.value;
  return { rules: init?.env?.find((e) => e.name === "MESHWORK_CAPTURE_RULES")?.value ?? "", env };
}

describe("per-port inbound capture with the injector's rules and a real sidecar (root, network namespaces)", () => {
  const { rules, env } = injected();

  beforeAll(async () => {
    requireRootAndTools("the per-port capture test");
    namespaces.create();
    run("ip", ["netns", "exec", podNs, "iptables-restore", "--noflush"], rules);
    await startIn(podNs, applications);
    configDir = mkdtempSync(join(tmpdir(), "meshwork-port-map-netns-"));
    writeFileSync(join(configDir, "mesh.yaml"), serviceYaml);
    // The injected container's settings as the kubelet would pass them, but a standalone config instead of the control plane and CA.
    const settings = ["MESHWORK_SIDECAR_BIND", "MESHWORK_INBOUND_PORT", "MESHWORK_OUTBOUND_PORT", "MESHWORK_ADMIN_PORT", "MESHWORK_STATS_PORT", "MESHWORK_APP_PORT", "MESHWORK_INBOUND_PORT_MAP", "MESHWORK_LABELS"];
    const sidecarEnv = Object.fromEntries(settings.map((name) => [name, env[name]]));
    sidecar = startProcess("ip", ["netns", "exec", podNs, process.execPath, "--import", "tsx", "--conditions=@meshwork/source", sidecarMain], {
      name: "sidecar",
      cwd: workspaceRoot,
      env: { ...sidecarEnv, MESHWORK_SIDECAR_CONFIG: configDir, MESHWORK_ACCESS_LOG: "off" },
    });
    await sidecar.waitForLine("sidecar started", 60_000);
  }, 90_000);

  afterAll(async () => {
    await sidecar?.stop({ graceMs: 5_000 });
    namespaces.remove();
    if (configDir !== undefined) rmSync(configDir, { recursive: true, force: true });
  });

  it("the injector maps both container ports to listeners of their own", () => {
    expect(env["MESHWORK_INBOUND_PORT_MAP"]).toBe("9080:15100,9443:15101");
    const nat = run("ip", ["netns", "exec", podNs, "iptables", "-t", "nat", "-S"]);
    expect(nat).toContain("-A MESHWORK_INBOUND -p tcp -m tcp --dport 9080 -j REDIRECT --to-ports 15100");
    expect(nat).toContain("-A MESHWORK_INBOUND -p tcp -m tcp --dport 9443 -j REDIRECT --to-ports 15101");
  });

  it("plain HTTP to pod-ip:9080 reaches the HTTP application through the sidecar", () => {
    expect(exchangeFrom(svcNs, podIp, 9080, httpRequest("/to-9080"))).toMatch(/^HTTP\/1\.1 200 [\s\S]*\r\n\r\nhttp-app \/to-9080$/);
  });

  it("plain bytes to pod-ip:9443 reach the TCP application, not the HTTP one", () => {
    expect(exchangeFrom(svcNs, podIp, 9443, "hello 9443")).toBe("tcp-app: hello 9443");
    // Even bytes that look like HTTP: the port, not the content, decides.
    expect(exchangeFrom(svcNs, podIp, 9443, httpRequest("/to-9443"))).toBe(`tcp-app: ${httpRequest("/to-9443")}`);
  });

  it("a captured port that is no container port still goes to the shared inbound port (the first container port's application)", () => {
    expect(exchangeFrom(svcNs, podIp, 7070, httpRequest("/to-7070"))).toMatch(/\r\n\r\nhttp-app \/to-7070$/);
  });

  it("without the per-port rule, 9443 lands on the shared inbound port and reaches the HTTP application, as before the map (the test can fail)", () => {
    run("ip", ["netns", "exec", podNs, "iptables", "-t", "nat", "-D", "MESHWORK_INBOUND", "-p", "tcp", "--dport", "9443", "-j", "REDIRECT", "--to-ports", "15101"]);
    expect(exchangeFrom(svcNs, podIp, 9443, httpRequest("/to-9443"))).toMatch(/\r\n\r\nhttp-app \/to-9443$/);
  });
});
